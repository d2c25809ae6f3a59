// Known fake secrets and a scanner for them: every secret is looked for in each output as written, in
// base64 (padded or not), base64url, URL-encoded and JSON-escaped forms, and, for long ones, by a
// fragment from the middle (a truncated leak) and line by line (a PEM key). Outputs are everything a
// process printed and everything an HTTP server answered (status line, headers and body).

export interface Output {
  /** Which process or request, for the report. */
  label: string;
  text: string;
  /** Names of the secrets this output is meant to carry (`keys create` prints the key it made). */
  allowed?: string[];
}

export interface Finding {
  secret: string;
  form: string;
  output: string;
  /** The text around the match, with the match itself masked. */
  context: string;
}

const MIN_FORM = 10;

/** The forms a secret could leak in. */
export function formsOf(value: string): Map<string, string> {
  const forms = new Map<string, string>();
  const add = (form: string, text: string) => {
    if (text.length >= MIN_FORM && ![...forms.values()].includes(text)) forms.set(form, text);
  };
  add('raw', value);
  const bytes = Buffer.from(value, 'utf8');
  add('base64', bytes.toString('base64'));
  add('base64 unpadded', bytes.toString('base64').replace(/=+$/, ''));
  add('base64url', bytes.toString('base64url'));
  add('url-encoded', encodeURIComponent(value));
  add('json-escaped', JSON.stringify(value).slice(1, -1));
  if (value.length >= 32) add('middle fragment', value.slice(Math.floor(value.length / 2) - 10, Math.floor(value.length / 2) + 10));
  // A PEM key: each base64 line of its body.
  const lines = value.split('\n').map((line) => line.trim()).filter((line) => line.length >= 16 && !line.startsWith('-----'));
  if (lines.length > 1) lines.forEach((line, i) => add(`line ${i + 1}`, line));
  return forms;
}

export class SecretBook {
  private readonly secrets = new Map<string, string>();

  /** A secret by name; a name given twice keeps both values (`name #2`). */
  add(name: string, value: string): string {
    let key = name;
    for (let n = 2; this.secrets.has(key) && this.secrets.get(key) !== value; n++) key = `${name} #${n}`;
    this.secrets.set(key, value);
    return value;
  }

  get names(): string[] {
    return [...this.secrets.keys()];
  }

  value(name: string): string | undefined {
    return this.secrets.get(name);
  }

  get size(): number {
    return this.secrets.size;
  }

  /** How many (secret, form) pairs are looked for. */
  get formCount(): number {
    return [...this.secrets.values()].reduce((sum, value) => sum + formsOf(value).size, 0);
  }

  scan(outputs: Output[]): Finding[] {
    const findings: Finding[] = [];
    for (const [name, value] of this.secrets) {
      const forms = formsOf(value);
      for (const output of outputs) {
        if (output.allowed?.some((allowed) => name === allowed || name.startsWith(`${allowed} #`))) continue;
        for (const [form, text] of forms) {
          const at = output.text.indexOf(text);
          if (at < 0) continue;
          const context = `${output.text.slice(Math.max(0, at - 60), at)}<${name}>${output.text.slice(at + text.length, at + text.length + 60)}`;
          findings.push({ secret: name, form, output: output.label, context });
          break;
        }
      }
    }
    return findings;
  }
}
