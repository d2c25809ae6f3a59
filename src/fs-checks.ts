import fs from 'node:fs';

/** Creates `dir` if needed and proves it writable, or throws one line naming it and the setting that moves it. */
export function ensureWritableDir(dir: string, setting: string): void {
  try {
    fs.mkdirSync(dir, { recursive: true });
    fs.accessSync(dir, fs.constants.W_OK);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'error';
    throw new StartupError(`data dir ${dir} is not writable (${code}): set ${setting} to a writable directory`);
  }
}

/** A start-up failure the operator fixes outside skyduck (a port, a directory): one line, exit 1. */
export class StartupError extends Error {
  override name = 'StartupError';
}
