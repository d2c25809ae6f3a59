// The executable's entry point: parse the command line, run one command, map failures to exit codes.
import { parseArgs } from 'node:util';
import { buildInfo } from './build-info.ts';
import { CloudError } from './cloud/errors.ts';
import { ProviderNotCompiledError } from './cloud/types.ts';
import type { KeysAction } from './commands/keys.ts';
import { ConfigError, loadConfig } from './config/config.ts';
import { StartupError } from './fs-checks.ts';
import { versionFacts } from './info.ts';
import { NativeCacheError } from './native/errors.ts';
import { mark } from './trace.ts';

const USAGE = `usage: ${buildInfo.binary} [command] [options]

commands:
  serve            start the HTTP API (the default)
  version [--json] print the version, variant, compiled clouds and runtime versions
  config           print every setting, its value and where it came from
  doctor           check that the configured storage and keys work, one line per check
  selftest         doctor, plus the HTTP API started on a loopback port and queried (a smoke test)
  keygen [--out F] write a new local key file (mode 0600; default: SKYDUCK_KMS_KEY or <data dir>/skyduck.key)
  keys create --scope read|write|admin --agent NAME
                   create an API key and print it, once, on stdout (only a salted hash is kept)
  keys list [--json]
                   every API key: id, agent, scope, created, active or revoked
  keys revoke ID   revoke an API key; a running server refuses it from its next request on
  mcp              the MCP server on stdio for desktop clients, as the key in SKYDUCK_API_KEY (or, without
                   one, as the data dir's owner); a running server serves MCP on POST /mcp
  snapshot         every table as encrypted Parquet in the blob store, manifest last (server stopped;
                   a running server: POST /v1/snapshots)
  snapshots [--json]
                   the snapshots in the blob store, newest first
  restore [--snapshot ID]
                   rebuild the data dir's databases from a snapshot (default: latest), every checksum
                   verified before the new files replace the old ones (server stopped)
  export --snapshot ID|latest --out DIR
                   the snapshot's tables as plain Parquet files any Parquet reader opens
  replicate --from URL --to URL [--to-key KEY]
                   copy snapshots to another bucket or cloud, re-wrapping each data key for the
                   destination's key (URLs: s3://b/prefix gs://b/prefix az://account/container/prefix file:///dir)
  audit verify     check the audit ledger's hash chain; names the first broken row (exit 1 if broken).
                   Run it with the server stopped; a running server answers GET /v1/audit/verify
  help             print this text

settings come from the environment, for example:
  SKYDUCK_LISTEN=127.0.0.1:8080   SKYDUCK_DATA_DIR=./skyduck-data   SKYDUCK_CLOUD=local
`;

class UsageError extends Error {}

/** Exit 2: the invocation or configuration is wrong. Exit 1: the environment refused (port, directory). */
function exitCodeOf(error: unknown): number {
  if (error instanceof UsageError || error instanceof ConfigError || error instanceof ProviderNotCompiledError) return 2;
  return 1;
}

function fail(error: unknown): never {
  if (error instanceof UsageError) {
    process.stderr.write(`${buildInfo.binary}: ${error.message}\n\n${USAGE}`);
  } else if (
    error instanceof ConfigError || error instanceof ProviderNotCompiledError ||
    error instanceof StartupError || error instanceof NativeCacheError || error instanceof CloudError ||
    (error as Error)?.name === 'SnapshotError' || (error as Error)?.name === 'EnvelopeError'
  ) {
    process.stderr.write(`${buildInfo.binary}: ${(error as Error).message}\n`);
  } else {
    process.stderr.write(`${buildInfo.binary}: unexpected failure: ${(error as Error)?.stack ?? String(error)}\n`);
  }
  process.exit(exitCodeOf(error));
}

function parse(argv: string[]) {
  try {
    return parseArgs({
      args: argv,
      allowPositionals: true,
      strict: true,
      options: {
        json: { type: 'boolean' },
        out: { type: 'string' },
        scope: { type: 'string' },
        agent: { type: 'string' },
        snapshot: { type: 'string' },
        from: { type: 'string' },
        to: { type: 'string' },
        'to-key': { type: 'string' },
        'from-endpoint': { type: 'string' },
        'to-endpoint': { type: 'string' },
        'from-kms-endpoint': { type: 'string' },
        'to-kms-endpoint': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (error) {
    throw new UsageError((error as Error).message.split('\n')[0] ?? 'invalid arguments');
  }
}

/** `keys <create|list|revoke> ...` as one action, or a UsageError naming what is missing. */
function keysAction([sub, ...args]: string[], values: { scope?: string; agent?: string; json?: boolean }): KeysAction {
  const extra = sub === 'revoke' ? args.slice(1) : args;
  if (extra.length > 0) throw new UsageError(`unexpected argument '${extra[0]}'`);
  switch (sub) {
    case 'create':
      if (values.scope === undefined || values.agent === undefined) throw new UsageError('keys create needs --scope read|write|admin and --agent NAME');
      return { action: 'create', scope: values.scope, agent: values.agent };
    case 'list':
      return { action: 'list', json: values.json === true };
    case 'revoke':
      if (args[0] === undefined) throw new UsageError('keys revoke needs the id of a key (`keys list` shows them)');
      return { action: 'revoke', id: args[0] };
    default:
      throw new UsageError(sub === undefined ? 'keys needs create, list or revoke' : `unknown keys command '${sub}': use create, list or revoke`);
  }
}

async function main(argv: string[]): Promise<void> {
  mark('main');
  const { values, positionals } = parse(argv);
  const [command = 'serve', ...rest] = positionals;
  if (values.help || command === 'help') {
    process.stdout.write(USAGE);
    return;
  }
  // Only `keys` (a subcommand and an id) and `audit verify` take positionals; keys checks its own.
  const keysCommand = command === 'keys' ? `keys ${rest[0] ?? ''}`.trim() : undefined;
  if (command === 'audit' && (rest[0] !== 'verify' || rest.length > 1)) {
    throw new UsageError(rest[0] === undefined ? 'audit needs a subcommand: audit verify' : `unknown audit subcommand '${rest.join(' ')}': use audit verify`);
  }
  if (rest.length > 0 && !keysCommand && command !== 'audit') throw new UsageError(`unexpected argument '${rest[0]}'`);
  if (values.json && command !== 'version' && command !== 'snapshots' && keysCommand !== 'keys list') {
    throw new UsageError(`--json goes with version, keys list or snapshots, not ${keysCommand ?? command}`);
  }
  if ((values.scope ?? values.agent) !== undefined && keysCommand !== 'keys create') {
    throw new UsageError(`--scope and --agent go with keys create, not ${keysCommand ?? command}`);
  }
  // Which options each command takes; the rest is a usage error naming where the option belongs.
  const OPTIONS: Record<string, string[]> = {
    out: ['keygen', 'export'],
    json: ['version', 'keys list', 'snapshots'],
    snapshot: ['restore', 'export'],
    from: ['replicate'], to: ['replicate'], 'to-key': ['replicate'], 'from-endpoint': ['replicate'],
    'to-endpoint': ['replicate'], 'from-kms-endpoint': ['replicate'], 'to-kms-endpoint': ['replicate'],
  };
  for (const [option, commands] of Object.entries(OPTIONS)) {
    if ((values as Record<string, unknown>)[option] === undefined || option === 'json') continue;
    if (!commands.includes(command)) throw new UsageError(`--${option} goes with ${commands.join(' or ')}, not ${command}`);
  }
  if (values.out !== undefined && command !== 'keygen' && command !== 'export') throw new UsageError(`--out goes with keygen or export, not ${command}`);

  switch (command) {
    case 'version': {
      const facts = versionFacts();
      process.stdout.write(values.json ? `${JSON.stringify(facts)}\n` :
        `${facts.binary} ${facts.version} (${facts.variant}; clouds: ${facts.clouds.join(', ')}; ${facts.target}; node ${facts.node}; duckdb ${facts.duckdb}; commit ${facts.commit})\n`);
      return;
    }
    case 'config': {
      const { printConfig } = await import('./commands/config.ts');
      printConfig(loadConfig(process.env), (text) => process.stdout.write(text));
      return;
    }
    case 'doctor': {
      const { doctor } = await import('./commands/doctor.ts');
      const healthy = await doctor(loadConfig(process.env), (line) => process.stdout.write(line));
      process.exitCode = healthy ? 0 : 1;
      return;
    }
    case 'selftest': {
      const { selftest } = await import('./commands/selftest.ts');
      const passed = await selftest(loadConfig(process.env), (line) => process.stdout.write(line), fail);
      process.exitCode = passed ? 0 : 1;
      return;
    }
    case 'keygen': {
      const { keygen } = await import('./commands/keygen.ts');
      process.stdout.write(keygen(loadConfig(process.env), values.out));
      return;
    }
    case 'keys': {
      const action = keysAction(rest, values);
      const { keys } = await import('./commands/keys.ts');
      const output = keys(loadConfig(process.env), action);
      process.stdout.write(output.stdout);
      process.stderr.write(output.stderr);
      return;
    }
    case 'audit': {
      const { prepareNative } = await import('./native/binding.ts');
      const config = loadConfig(process.env);
      await prepareNative(config.nativeCache);
      const { auditVerify } = await import('./commands/audit.ts');
      const result = await auditVerify(config);
      process.stdout.write(`${result.text}\n`);
      process.exitCode = result.ok ? 0 : 1;
      return;
    }
    case 'mcp': {
      const { mcpStdio } = await import('./commands/mcp.ts');
      await mcpStdio(loadConfig(process.env));
      return;
    }
    case 'snapshot': {
      const { snapshotCommand } = await import('./commands/snapshot.ts');
      await snapshotCommand(loadConfig(process.env), (text) => process.stdout.write(text), (text) => process.stderr.write(text));
      return;
    }
    case 'snapshots': {
      const { listCommand } = await import('./commands/snapshot.ts');
      await listCommand(loadConfig(process.env), (text) => process.stdout.write(text), values.json === true);
      return;
    }
    case 'restore': {
      const { restoreCommand } = await import('./commands/snapshot.ts');
      await restoreCommand(loadConfig(process.env), values.snapshot, (text) => process.stdout.write(text), (text) => process.stderr.write(text));
      return;
    }
    case 'export': {
      if (values.snapshot === undefined || values.out === undefined) throw new UsageError('export needs --snapshot ID (or latest) and --out DIR');
      const { exportCommand } = await import('./commands/snapshot.ts');
      const config = loadConfig(process.env);
      await exportCommand(config, values.snapshot === 'latest' ? undefined : values.snapshot, values.out, (text) => process.stdout.write(text));
      return;
    }
    case 'replicate': {
      if (values.from === undefined || values.to === undefined) throw new UsageError('replicate needs --from URL and --to URL (s3://bucket/prefix, gs://bucket/prefix, az://account/container/prefix, file:///dir)');
      const { replicateCommand } = await import('./commands/replicate.ts');
      await replicateCommand(loadConfig(process.env), {
        from: values.from, to: values.to, toKey: values['to-key'], fromEndpoint: values['from-endpoint'], toEndpoint: values['to-endpoint'],
        fromKmsEndpoint: values['from-kms-endpoint'], toKmsEndpoint: values['to-kms-endpoint'],
      }, (text) => process.stdout.write(text), (text) => process.stderr.write(text));
      return;
    }
    case 'serve': {
      const { serve } = await import('./commands/serve.ts');
      await serve(loadConfig(process.env), fail);
      return;
    }
    default:
      throw new UsageError(`unknown command '${command}'`);
  }
}

process.on('uncaughtException', fail);
process.on('unhandledRejection', fail);
main(process.argv.slice(2)).catch(fail);
