// `skyduck replicate --from URL --to URL`: the snapshots of one store copied to another store or cloud,
// each data key re-wrapped for the destination's key, then the copy restored into a temporary data dir
// and checked. Progress goes to stderr, the result line to stdout.
import type { Config } from '../config/config.ts';
import { prepareNative } from '../native/binding.ts';
import type { ReplicateRequest } from '../snapshot/replicate.ts';
import { progressPrinter } from './snapshot.ts';

export type ReplicateOptions = ReplicateRequest;

const MiB = 1024 * 1024;

export async function replicateCommand(config: Config, options: ReplicateOptions, write: (text: string) => void, progress: (text: string) => void): Promise<void> {
  // The copy is verified by a restore, which needs DuckDB: a native cache that cannot work fails before any copying.
  await prepareNative(config.nativeCache);
  const { replicate } = await import('../snapshot/replicate.ts');
  const printers = { replicate: progressPrinter('replicate', progress), verify: progressPrinter('verify', progress) };
  const tty = Boolean(process.stderr.isTTY);
  let stage: keyof typeof printers | undefined;
  const result = await replicate(config, options, {
    onProgress: (next, update) => {
      if (tty && stage !== undefined && stage !== next) progress('\n');
      stage = next;
      printers[next](update);
    },
  });
  if (tty && stage !== undefined) progress('\n');
  const seconds = result.ms / 1000;
  const skipped = result.skipped.length ? `, ${result.skipped.length} already there (skipped)` : '';
  const present = result.present ? `, ${result.present} object(s) already there` : '';
  write(`replicated ${result.copied.length} snapshot(s) from ${result.from} to ${result.to}${skipped}: ` +
    `${result.objects} object(s), ${(result.bytes / MiB).toFixed(1)} MiB in ${seconds.toFixed(1)} s ` +
    `(${(seconds > 0 ? result.bytes / MiB / seconds : 0).toFixed(1)} MiB/s)${present}, data keys wrapped by ${result.keyUri}; ` +
    `latest ${result.latest}; ${result.verified.id} restored from ${result.to} and verified ` +
    `(${result.verified.tables} tables, ${result.verified.rows} rows, every checksum)\n`);
}
