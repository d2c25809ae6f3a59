// Measuring a process under load from the outside: its resident memory sampled from /proc/<pid>/status, its
// CPU time from /proc/<pid>/stat, and latency percentiles per request kind. Linux only (as the binaries are).
import fs from 'node:fs';

const MiB = 1024 * 1024;

/** A field of /proc/<pid>/status in bytes (VmRSS now, VmHWM the kernel's own peak), or undefined once it exited. */
export function procStatusBytes(pid: number, field: 'VmRSS' | 'VmHWM'): number | undefined {
  let text: string;
  try {
    text = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch {
    return undefined;
  }
  const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(text);
  return match ? Number(match[1]) * 1024 : undefined;
}

/** User + system CPU time the process has used so far, in ms (/proc/<pid>/stat fields 14 and 15). */
export function procCpuMs(pid: number): number {
  // The command name (field 2) may hold spaces: the fields that follow start after its closing parenthesis.
  const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /s, '').split(' ');
  const ticksPerSecond = 100; // USER_HZ, 100 on every Linux this runs on
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / ticksPerSecond;
}

/** VmRSS of a process every `everyMs` until stop(): the peak and every sample, in MiB. */
export function sampleRss(pid: number, everyMs = 500): { stop(): { peakMiB: number; samples: number[] } } {
  const samples: number[] = [];
  const take = () => {
    const bytes = procStatusBytes(pid, 'VmRSS');
    if (bytes !== undefined) samples.push(Math.round((bytes / MiB) * 10) / 10);
  };
  take();
  const timer = setInterval(take, everyMs);
  return {
    stop() {
      clearInterval(timer);
      take();
      return { peakMiB: Math.max(...samples), samples };
    },
  };
}

/** The value at rank ceil(p * n) of the sorted values (nearest rank), or undefined when there are none. */
export function percentile(sorted: number[], p: number): number | undefined {
  if (sorted.length === 0) return undefined;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))];
}

const round = (value: number | undefined, digits = 1) => (value === undefined ? null : Math.round(value * 10 ** digits) / 10 ** digits);

/** Latencies and status counts of one kind of request. */
export class KindStats {
  /** Every attempt that got an HTTP answer, by status. */
  readonly statuses = new Map<number, number>();
  /** Attempts that got no answer (a network error or the client's own timeout). */
  noAnswer = 0;
  /** Milliseconds from sending to the last byte of the body, of the 2xx answers. */
  private readonly okMs: number[] = [];
  private readonly allMs: number[] = [];

  record(status: number | undefined, ms: number): void {
    if (status === undefined) {
      this.noAnswer++;
      return;
    }
    this.statuses.set(status, (this.statuses.get(status) ?? 0) + 1);
    this.allMs.push(ms);
    if (status >= 200 && status < 300) this.okMs.push(ms);
  }

  count(predicate: (status: number) => boolean): number {
    let total = 0;
    for (const [status, n] of this.statuses) if (predicate(status)) total += n;
    return total;
  }

  summary() {
    const ok = [...this.okMs].sort((a, b) => a - b);
    const all = [...this.allMs].sort((a, b) => a - b);
    return {
      requests: this.allMs.length + this.noAnswer,
      ok: ok.length,
      too_many: this.count((s) => s === 429),
      other_4xx: this.count((s) => s >= 400 && s < 500 && s !== 429),
      server_errors: this.count((s) => s >= 500),
      no_answer: this.noAnswer,
      statuses: Object.fromEntries([...this.statuses].sort(([a], [b]) => a - b)),
      ok_p50_ms: round(percentile(ok, 0.5)),
      ok_p99_ms: round(percentile(ok, 0.99)),
      ok_max_ms: round(ok.at(-1)),
      all_p50_ms: round(percentile(all, 0.5)),
      all_p99_ms: round(percentile(all, 0.99)),
    };
  }
}

/** A fixed-width text table: the first row is the header; numbers are right-aligned. */
export function textTable(rows: (string | number | null)[][]): string {
  const cells = rows.map((row) => row.map((cell) => (cell === null ? '-' : String(cell))));
  const widths = cells[0]!.map((_, i) => Math.max(...cells.map((row) => row[i]!.length)));
  return cells
    .map((row) => row.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join('  '))
    .join('\n');
}
