// Reading Terraform configurations for structural tests: every .tf file of a directory parsed with
// @cdktf/hcl2json (HashiCorp's own HCL parser, compiled to WASM) and merged into one object.
import fs from 'node:fs';
import path from 'node:path';
import { parse } from '@cdktf/hcl2json';

type Blocks<T> = Record<string, T[]>;

export interface Config {
  dir: string;
  variable: Blocks<Record<string, unknown>>;
  module: Blocks<Record<string, unknown>>;
  output: Blocks<Record<string, unknown>>;
  resource: Record<string, Blocks<Record<string, unknown>>>;
  data: Record<string, Blocks<Record<string, unknown>>>;
  locals: Record<string, unknown>[];
  terraform: Record<string, unknown>[];
}

export async function readConfig(dir: string): Promise<Config> {
  const merged: Config = { dir, variable: {}, module: {}, output: {}, resource: {}, data: {}, locals: [], terraform: [] };
  for (const file of fs.readdirSync(dir).filter((name) => name.endsWith('.tf')).sort()) {
    const parsed = (await parse(file, fs.readFileSync(path.join(dir, file), 'utf8'))) as Partial<Config>;
    Object.assign(merged.variable, parsed.variable);
    Object.assign(merged.module, parsed.module);
    Object.assign(merged.output, parsed.output);
    for (const kind of ['resource', 'data'] as const) {
      for (const [type, blocks] of Object.entries(parsed[kind] ?? {})) merged[kind][type] = { ...merged[kind][type], ...blocks };
    }
    merged.locals.push(...(parsed.locals ?? []));
    merged.terraform.push(...(parsed.terraform ?? []));
  }
  return merged;
}

export async function readTfvars(file: string): Promise<Record<string, unknown>> {
  return (await parse(path.basename(file), fs.readFileSync(file, 'utf8'))) as Record<string, unknown>;
}

/** Every string anywhere in a parsed value (expressions come through as "${...}" strings). */
export function strings(value: unknown): string[] {
  if (typeof value === 'string') return [value];
  if (Array.isArray(value)) return value.flatMap(strings);
  if (value && typeof value === 'object') return Object.values(value).flatMap(strings);
  return [];
}

export function matches(texts: string[], pattern: RegExp): string[][] {
  return texts.flatMap((text) => [...text.matchAll(pattern)].map((match) => match.slice(1)));
}

/** The directories of a cloud tree that hold .tf files: the root and each module. */
export function configDirs(cloudRoot: string): string[] {
  const modules = path.join(cloudRoot, 'modules');
  const moduleDirs = fs.existsSync(modules) ? fs.readdirSync(modules).map((name) => path.join(modules, name)) : [];
  return [cloudRoot, ...moduleDirs].filter((dir) => fs.readdirSync(dir).some((name) => name.endsWith('.tf')));
}
