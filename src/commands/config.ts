// `skyduck config`: every setting, its resolved value and where it came from. Nothing here is a secret
// (credentials never live in skyduck's configuration), but URLs are printed without user info or query.
import type { Config } from '../config/config.ts';
import { SETTINGS, type SettingName, type SettingSpec } from '../config/settings.ts';

function redactUrl(value: string): string {
  try {
    const url = new URL(value);
    if (url.username || url.password) url.username = url.password = '';
    url.search = url.search ? '?(redacted)' : '';
    return url.toString().replace('%3F(redacted)', '?(redacted)');
  } catch {
    return '(not a URL)';
  }
}

function quantity(value: number, unit: 'count' | 'bytes' | 'ms'): string {
  if (unit === 'ms') return value % 1000 === 0 ? `${value / 1000}s` : `${value}ms`;
  if (unit === 'bytes') {
    for (const [suffix, size] of [['GiB', 1024 ** 3], ['MiB', 1024 ** 2], ['KiB', 1024]] as const) {
      if (value >= size && value % size === 0) return `${value / size}${suffix}`;
    }
    return `${value}B`;
  }
  return String(value);
}

function shown(config: Config, name: SettingName): string {
  const value = name === 'listen' ? `${config.listen.host}:${config.listen.port}` : config[name];
  if (value === undefined) return '(unset)';
  if (Array.isArray(value)) return value.length ? value.join(',') : '(none)';
  const spec: SettingSpec = SETTINGS[name];
  if (spec.unit && typeof value === 'number') return quantity(value, spec.unit);
  return 'url' in SETTINGS[name] ? redactUrl(String(value)) : String(value);
}

export function printConfig(config: Config, write: (text: string) => void): void {
  const names = Object.keys(SETTINGS) as SettingName[];
  const rows = names.map((name) => [name, shown(config, name), config.sources[name] ?? 'default', SETTINGS[name].env[0]!]);
  const widths = [0, 1, 2].map((i) => Math.max(...rows.map((row) => row[i]!.length), 7));
  const line = (row: string[]) => row.map((cell, i) => (i < 3 ? cell.padEnd(widths[i]!) : cell)).join('  ').trimEnd();
  write(`${line(['setting', 'value', 'source', 'variable'])}\n`);
  for (const row of rows) write(`${line(row)}\n`);
  for (const warning of config.warnings) write(`warning: ${warning}\n`);
}
