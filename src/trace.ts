// SKYDUCK_TRACE_STARTUP=1 prints when each start-up phase ended (ms since the process began) to stderr:
// the way to see where start-up time goes in a sealed binary, where no profiler is at hand.
const enabled = process.env.SKYDUCK_TRACE_STARTUP === '1';

export function mark(phase: string): void {
  if (enabled) process.stderr.write(`startup ${performance.now().toFixed(1)} ms ${phase}\n`);
}
