// skyduck-local's config, keygen and doctor commands, with no configuration at all.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { isolate, runToEnd, tempDir } from '../support/process.ts';

const exe = isolate('skyduck-local');
const env = () => ({ SKYDUCK_NATIVE_CACHE: tempDir('native') });

describe('skyduck-local commands', () => {
  it('doctor passes with no configuration at all, checking storage, keys and the envelope', async () => {
    const { code, stdout } = await runToEnd(exe, ['doctor'], {});
    expect(code).toBe(0);
    const lines = stdout.trim().split('\n');
    expect(lines.map((line) => line.split(/\s+/).slice(0, 3).join(' '))).toEqual([
      'PASS config provider', 'PASS identity local', 'PASS storage client', 'PASS storage list', 'PASS storage write', 'PASS storage read',
      'PASS storage delete', 'PASS keys key', 'PASS data key', 'PASS envelope encrypt',
    ]);
    expect(stdout).toMatch(/PASS data key\s+local:\/\/[0-9a-f]{16}/);
    expect(stdout).toMatch(/PASS identity\s+local user: \S+ \(uid \d+\) via the operating system/);
    const keyFile = path.join(path.dirname(exe), 'skyduck-data', 'skyduck.key');
    expect(fs.statSync(keyFile).mode & 0o777).toBe(0o600);
  });

  it('doctor fails, naming the file and the fix, when the key file is readable by others', async () => {
    const dir = tempDir('key');
    const keyFile = path.join(dir, 'team.key');
    expect((await runToEnd(exe, ['keygen', '--out', keyFile], env())).code).toBe(0);
    fs.chmodSync(keyFile, 0o644);
    const { code, stdout } = await runToEnd(exe, ['doctor'], { ...env(), SKYDUCK_KMS_KEY: keyFile });
    expect(code).toBe(1);
    expect(stdout).toMatch(new RegExp(`FAIL keys\\s+local: ${keyFile}: the key file is readable by other users \\(mode 644\\): chmod 600 it`));
    expect(stdout).toMatch(/SKIP data key/);
  });

  it('doctor stops at the config check when the binary lacks the configured cloud', async () => {
    const { code, stdout } = await runToEnd(exe, ['doctor'], { ...env(), SKYDUCK_CLOUD: 'gcp' });
    expect(code).toBe(1);
    expect(stdout.trim().split('\n')).toEqual([expect.stringMatching(/^FAIL config\s+SKYDUCK_CLOUD=gcp needs a binary built with gcp support: use skyduck-gcp or skyduck/)]);
  });

  it('selftest answers a query over HTTP and passes doctor, with no configuration at all', async () => {
    const { code, stdout } = await runToEnd(exe, ['selftest'], {});
    expect(stdout).toMatch(/^PASS http query\s+select 42 over http:\/\/127\.0\.0\.1:\d+/);
    expect(stdout).toMatch(/PASS envelope/);
    expect(stdout).not.toMatch(/FAIL|SKIP/);
    expect(code).toBe(0);
  });

  it('keygen writes a 0600 key file and never overwrites one', async () => {
    const keyFile = path.join(tempDir('key'), 'k');
    const first = await runToEnd(exe, ['keygen', '--out', keyFile], env());
    expect(first.code).toBe(0);
    expect(first.stdout).toMatch(/^wrote local key [0-9a-f]{16} to .*k \(mode 0600\)/);
    expect(fs.statSync(keyFile).mode & 0o777).toBe(0o600);
    const before = fs.readFileSync(keyFile);
    const second = await runToEnd(exe, ['keygen', '--out', keyFile], env());
    expect(second.code).toBe(2);
    expect(second.stderr).toContain('already exists');
    expect(fs.readFileSync(keyFile).equals(before)).toBe(true);
  });

  it('config prints each setting and its source, and warns about a misspelt variable', async () => {
    const { code, stdout } = await runToEnd(exe, ['config'], { SKYDUCK_LISTEN: '127.0.0.1:9999', SKYDUCK_DATADIR: '/tmp/x' });
    expect(code).toBe(0);
    expect(stdout).toMatch(/^listen\s+127\.0\.0\.1:9999\s+SKYDUCK_LISTEN/m);
    expect(stdout).toMatch(/^cloud\s+local\s+default/m);
    expect(stdout).toContain('warning: SKYDUCK_DATADIR is not a skyduck setting and is ignored: did you mean SKYDUCK_DATA_DIR?');
  });
});
