// dist/build-report.json, dist/SHA256SUMS and the table printed at the end of a build.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

export interface VariantReport {
  variant: string;
  binary: string;
  target: string;
  bundle_bytes: number;
  bytes_per_package: Record<string, number>;
  binary_bytes: number;
  gzip_bytes: number;
  build_seconds: number;
  native_codec: string;
  stripped: boolean;
}

export async function sha256File(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of fs.createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** Merges this build's entries into the report of earlier builds (a --variant build updates its row). */
export function writeReport(outDir: string, reports: VariantReport[]): VariantReport[] {
  const file = path.join(outDir, 'build-report.json');
  let previous: VariantReport[] = [];
  try {
    previous = (JSON.parse(fs.readFileSync(file, 'utf8')) as { variants: VariantReport[] }).variants;
  } catch {
    // first build into this directory
  }
  const merged = new Map(previous.map((r) => [r.variant, r]));
  for (const report of reports) merged.set(report.variant, report);
  const variants = [...merged.values()]
    .filter((r) => fs.existsSync(path.join(outDir, r.binary)))
    .sort((a, b) => a.variant.localeCompare(b.variant));
  fs.writeFileSync(file, `${JSON.stringify({ generated: new Date().toISOString(), variants }, null, 2)}\n`);
  return variants;
}

export async function writeChecksums(outDir: string, binaries: string[]): Promise<void> {
  const lines: string[] = [];
  for (const binary of [...binaries].sort()) {
    const file = path.join(outDir, binary);
    if (fs.existsSync(file)) lines.push(`${await sha256File(file)}  ${binary}`);
  }
  fs.writeFileSync(path.join(outDir, 'SHA256SUMS'), `${lines.join('\n')}\n`);
}

const mb = (bytes: number) => `${(bytes / 1e6).toFixed(1)} MB`;

export function formatTable(reports: VariantReport[]): string {
  const rows = [
    ['variant', 'binary', 'target', 'bundle', 'binary', 'gzip', 'seconds'],
    ...reports.map((r) => [r.variant, r.binary, r.target, mb(r.bundle_bytes), mb(r.binary_bytes), mb(r.gzip_bytes), r.build_seconds.toFixed(1)]),
  ];
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((row) => row[i]!.length)));
  return rows.map((row) => row.map((cell, i) => (i >= 3 ? cell.padStart(widths[i]!) : cell.padEnd(widths[i]!))).join('  ')).join('\n');
}
