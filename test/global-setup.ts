// One temp root per test run: every temp dir the tests make (binary copies are 140 MB each) lives under it,
// and it is removed when the run ends. Workers start after this and inherit TMPDIR, so os.tmpdir() is it.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export default function setup(): () => void {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'skyduck-run-'));
  process.env.TMPDIR = root;
  return () => {
    if (process.env.SKYDUCK_KEEP_TEST_DIRS) return;
    fs.rmSync(root, { recursive: true, force: true, maxRetries: 3 });
  };
}
