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
    error instanceof StartupError || error instanceof NativeCacheError || error instanceof CloudError
  ) {
    process.stderr.write(`${buildInfo.binary}: ${error.message}\n`);
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
  if (values.json && command !== 'version' && keysCommand !== 'keys list') {
    throw new UsageError(`--json goes with version or keys list, not ${keysCommand ?? command}`);
  }
  if ((values.scope ?? values.agent) !== undefined && keysCommand !== 'keys create') {
    throw new UsageError(`--scope and --agent go with keys create, not ${keysCommand ?? command}`);
  }
  if (values.out !== undefined && command !== 'keygen') throw new UsageError(`--out goes with keygen, not ${command}`);

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
