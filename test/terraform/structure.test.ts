// The Terraform trees, checked offline: formatting, declared vs used variables, module interfaces,
// environment files, provider pins, cloud isolation and least-privilege data access. Real terraform
// also plans each root's variables against its three environment files (no provider needed for that).
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { inCI } from '../support/emulators.ts';
import { root, tempDir } from '../support/process.ts';
import { type Config, configDirs, matches, readConfig, readTfvars, strings } from './hcl.ts';

const TERRAFORM = path.join(root, 'terraform');
const ENVIRONMENTS = ['dev', 'staging', 'production'];
const META_ARGUMENTS = new Set(['source', 'version', 'providers', 'depends_on', 'count', 'for_each']);
const LAYOUT = {
  aws: ['eks', 'iam', 'kms', 'privatelink', 's3'],
  gcp: ['cloud_kms', 'cloud_run', 'cloudsql', 'gke', 'registry', 'secrets'],
  azure: ['aks', 'blob', 'identity', 'key_vault', 'networking', 'private_link'],
} as const;
const FOREIGN = { aws: /^(google|azurerm|azuread)_/, gcp: /^(aws|azurerm|azuread)_/, azure: /^(aws|google)_/ } as const;

const terraformMissing = spawnSync('terraform', ['version'], { stdio: 'ignore' }).status === 0 ? undefined : 'terraform is not installed';
const tfEnv = { ...process.env, TF_CLI_CONFIG_FILE: '/dev/null', CHECKPOINT_DISABLE: '1', TF_IN_AUTOMATION: '1' };
const terraform = (args: string[], cwd: string) => spawnSync('terraform', [...args.slice(0, 1), '-no-color', ...args.slice(1)], { cwd, env: tfEnv, encoding: 'utf8' });

const declared = (config: Config) => new Set(Object.keys(config.variable));
const required = (config: Config) =>
  Object.entries(config.variable).filter(([, [block]]) => !('default' in (block ?? {}))).map(([name]) => name);

describe.each(Object.keys(LAYOUT) as (keyof typeof LAYOUT)[])('terraform %s', (cloud) => {
  const cloudRoot = path.join(TERRAFORM, cloud);
  const configs = new Map<string, Config>();
  let rootConfig: Config;

  beforeAll(async () => {
    for (const dir of configDirs(cloudRoot)) configs.set(dir, await readConfig(dir));
    rootConfig = configs.get(cloudRoot)!;
  });

  it('has the modules of the seed layout, each with versions, variables, main, outputs and a README', () => {
    expect(fs.readdirSync(path.join(cloudRoot, 'modules')).sort()).toEqual([...LAYOUT[cloud]]);
    for (const module of LAYOUT[cloud]) {
      const files = fs.readdirSync(path.join(cloudRoot, 'modules', module));
      expect(files, module).toEqual(expect.arrayContaining(['versions.tf', 'variables.tf', 'main.tf', 'outputs.tf', 'README.md']));
    }
  });

  it('reaches the shared variables and outputs through links to terraform/shared', () => {
    for (const [link, target] of [['shared_variables.tf', 'variables.tf'], ['shared_outputs.tf', 'outputs.tf']]) {
      expect(fs.realpathSync(path.join(cloudRoot, link!))).toBe(path.join(TERRAFORM, 'shared', target!));
    }
  });

  it.skipIf(terraformMissing !== undefined && !inCI)(`is formatted (terraform fmt -check)${terraformMissing ? ` (skipped: ${terraformMissing})` : ''}`, () => {
    const result = terraform(['fmt', '-check', '-recursive', cloudRoot], root);
    expect(result.stdout, 'files terraform fmt would change').toBe('');
    expect(result.status).toBe(0);
  });

  it('declares every variable it uses, in every directory, with a type and a description', () => {
    for (const config of configs.values()) {
      const used = new Set(matches(strings(config), /\bvar\.([A-Za-z_][\w-]*)/g).map(([name]) => name!));
      expect([...used].filter((name) => !declared(config).has(name)), config.dir).toEqual([]);
      for (const [name, [block]] of Object.entries(config.variable)) {
        expect(block, `${config.dir}: variable ${name}`).toMatchObject({ type: expect.any(String), description: expect.any(String) });
      }
    }
  });

  it('calls each module with variables it declares, and every one it requires', () => {
    for (const config of configs.values()) {
      for (const [name, [call]] of Object.entries(config.module)) {
        const target = configs.get(path.resolve(config.dir, String(call!.source)));
        expect(target, `${config.dir}: module ${name} source ${call!.source}`).toBeDefined();
        const passed = Object.keys(call!).filter((key) => !META_ARGUMENTS.has(key));
        expect(passed.filter((key) => !declared(target!).has(key)), `module ${name}: undeclared inputs`).toEqual([]);
        expect(required(target!).filter((key) => !passed.includes(key)), `module ${name}: missing inputs`).toEqual([]);
      }
    }
  });

  it('references only outputs its modules declare', () => {
    for (const config of configs.values()) {
      for (const [module, output] of matches(strings(config), /\bmodule\.([\w-]+)(?:\[[^\]]*\])?\.([\w-]+)/g)) {
        const call = config.module[module!]?.[0];
        expect(call, `${config.dir}: module.${module} is not called`).toBeDefined();
        const target = configs.get(path.resolve(config.dir, String(call!.source)))!;
        expect(Object.keys(target.output), `${config.dir}: module.${module}.${output}`).toContain(output);
      }
    }
  });

  it.each(ENVIRONMENTS)('environments/%s.tfvars sets only declared variables and every required one', async (environment) => {
    const values = await readTfvars(path.join(cloudRoot, 'environments', `${environment}.tfvars`));
    expect(Object.keys(values).filter((key) => !declared(rootConfig).has(key))).toEqual([]);
    expect(required(rootConfig).filter((key) => !(key in values))).toEqual([]);
    expect(values.environment).toBe(environment);
  });

  it('pins every provider to a version', () => {
    for (const config of configs.values()) {
      const providers = config.terraform.flatMap((block) => (block.required_providers as Record<string, { version?: string }>[] | undefined) ?? []);
      expect(providers.length, `${config.dir} declares required_providers`).toBeGreaterThan(0);
      for (const [name, spec] of providers.flatMap((entry) => Object.entries(entry))) {
        expect(spec.version, `${config.dir}: provider ${name}`).toMatch(/^(~>|>=|=)\s*\d+/);
      }
    }
  });

  it("has no resource of another cloud's provider", () => {
    for (const config of configs.values()) {
      const types = [...Object.keys(config.resource), ...Object.keys(config.data)];
      expect(types.filter((type) => FOREIGN[cloud].test(type)), config.dir).toEqual([]);
    }
  });

  it('grants data access only on the named bucket and key, never with a wildcard or project-wide', () => {
    for (const config of configs.values()) {
      const everything = strings(config);
      expect(everything.filter((text) => /"Resource"\s*[:=]\s*"\*"/.test(text)), config.dir).toEqual([]);
      if (cloud === 'aws') {
        for (const [, documents] of Object.entries(config.data.aws_iam_policy_document ?? {})) {
          for (const statement of documents.flatMap((document) => (document.statement as Record<string, unknown>[]) ?? [])) {
            const dataActions = strings(statement.actions).filter((action) => /^(s3|kms):/.test(action));
            if (dataActions.length > 0) expect(strings(statement.resources).filter((resource) => /^\*$|:::\*$/.test(resource)), config.dir).toEqual([]);
          }
        }
      }
      if (cloud === 'gcp') {
        const projectWide = Object.entries(config.resource).filter(([type]) => /^google_project_iam_/.test(type))
          .flatMap(([, blocks]) => Object.values(blocks).flat()).filter((block) => /storage|cloudkms/.test(String(block.role)));
        expect(projectWide, config.dir).toEqual([]);
      }
      if (cloud === 'azure') {
        const wide = Object.values(config.resource.azurerm_role_assignment ?? {}).flat()
          .filter((block) => /Storage Blob Data|Key Vault Crypto/.test(String(block.role_definition_name)))
          .filter((block) => /subscription|azurerm_resource_group\.[\w-]+\.id\}?$/.test(String(block.scope)));
        expect(wide, config.dir).toEqual([]);
      }
    }
  });

  // The variables alone need no provider: terraform itself type-checks and validates each environment
  // file against them, and shows a bad value's rule.
  describe.skipIf(terraformMissing !== undefined && !inCI)(`variables planned by terraform${terraformMissing ? ` (skipped: ${terraformMissing})` : ''}`, () => {
    let dir: string;
    beforeAll(() => {
      dir = tempDir(`tf-${cloud}`);
      fs.copyFileSync(path.join(cloudRoot, 'variables.tf'), path.join(dir, 'variables.tf'));
      fs.copyFileSync(path.join(TERRAFORM, 'shared', 'variables.tf'), path.join(dir, 'shared_variables.tf'));
      const init = terraform(['init', '-backend=false', '-input=false'], dir);
      expect(init.stderr).toBe('');
    });

    it.each(ENVIRONMENTS)('accepts environments/%s.tfvars', (environment) => {
      const plan = terraform(['plan', '-input=false', `-var-file=${path.join(cloudRoot, 'environments', `${environment}.tfvars`)}`], dir);
      expect(plan.stderr).toBe('');
      expect(plan.status).toBe(0);
    });

    it.each([
      ['environment', 'prod', 'environment must be one of dev, staging, production'],
      ['name', 'Skyduck_Prod', 'name must be 3-20 characters'],
      ['image', 'skyduck:latest', 'image must be a registry path'],
    ])('refuses %s=%s, stating the rule', (variable, value, rule) => {
      const plan = terraform(['plan', '-input=false', `-var-file=${path.join(cloudRoot, 'environments', 'dev.tfvars')}`, `-var=${variable}=${value}`], dir);
      expect(plan.status).not.toBe(0);
      expect(plan.stderr.replace(/\s+/g, ' ')).toContain(rule);
    });
  });
});
