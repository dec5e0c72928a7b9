#!/usr/bin/env node
import { EXIT_OK, EXIT_RUNTIME, EXIT_USAGE, USAGE, UsageError, packageVersion, parseCli, type CliConfig } from './cli-args.js';
import { MAX_TIMER_MS } from './invalid-options-error.js';
import { headerPrincipal } from './principal.js';
import { openStoreSpec, withoutPassword } from './store-spec.js';
import type { TokenOptions } from './tokens.js';
import { createVerifier, type Verifier } from './verifier.js';

const NAME = 'submit-once-verifier';
/**
 * How long closing the store may take once the requests are done or cut: a store that no
 * longer answers (a Redis or Postgres link gone silent) held the process until SIGKILL,
 * whatever signals came.
 */
const STORE_CLOSE_MS = 5_000;

async function main(argv: readonly string[]): Promise<number | undefined> {
  let command;
  try {
    command = parseCli(argv, process.env);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    console.error(`${NAME}: ${error.message}`);
    console.error(`Run ${NAME} --help for the flags.`);
    return EXIT_USAGE;
  }
  if (command.command === 'help') {
    console.log(USAGE);
    return EXIT_OK;
  }
  if (command.command === 'version') {
    console.log(packageVersion());
    return EXIT_OK;
  }
  const { config } = command;
  // From here on a failure is the environment's (a port, a store, a package), not the
  // command line's: one line naming it, exit 1, no usage text.
  const store = await openStoreSpec(config.store, config.fileStore).catch((error: unknown) => {
    // A system error (ENOENT, EACCES… from the file store) names neither the flag nor the
    // store; the spec's own messages ("cannot connect to Redis at …") already do.
    if (typeof (error as NodeJS.ErrnoException).code !== 'string') throw error;
    throw new Error(`cannot open --store ${withoutPassword(config.store)}: ${messageOf(error)}`);
  });
  const verifier = createVerifier({
    store,
    ...(config.upstream !== undefined ? { upstream: config.upstream } : {}),
    ...(config.upstreamConnectTimeoutMs !== undefined ? { upstreamConnectTimeoutMs: config.upstreamConnectTimeoutMs } : {}),
    ...(config.leaseMs !== undefined ? { leaseMs: config.leaseMs } : {}),
    ...(config.ttlMs !== undefined ? { ttl: config.ttlMs } : {}),
    ...(config.maxRunMs !== undefined ? { maxRunMs: config.maxRunMs } : {}),
    ...(config.principalHeader !== undefined ? { principal: headerPrincipal(config.principalHeader) } : {}),
    ...(config.sharedKeys ? { principal: false as const } : {}),
    ...(config.principalCookies !== undefined ? { principalCookies: config.principalCookies } : {}),
    recovery: config.recovery,
    ...(config.tokenSecrets !== undefined ? { tokens: tokenOptions(config.tokenSecrets, config) } : {}),
  });
  const url = await listen(verifier, config);
  // The first signal drains; a second one makes close() cut what still runs. Each says
  // so on stderr: a process that does not stop at once is otherwise taken for hung.
  let stopping = false;
  let giveUp: NodeJS.Timeout | undefined;
  const stop = (signal: NodeJS.Signals): void => {
    console.error(
      stopping
        ? `${NAME}: ${signal} again: cutting the requests still running`
        : `${NAME}: ${signal}: stopping; requests in flight may finish for up to ${config.shutdownGraceMs} ms (a second signal cuts them)`,
    );
    // From the cut on (the grace's end, or this signal), the store gets STORE_CLOSE_MS.
    clearTimeout(giveUp);
    giveUp = setTimeout(
      () => {
        console.error(`${NAME}: stopped, but the store did not close within ${STORE_CLOSE_MS} ms: its last writes may be lost`);
        process.exit(EXIT_RUNTIME);
      },
      Math.min((stopping ? 0 : config.shutdownGraceMs) + STORE_CLOSE_MS, MAX_TIMER_MS),
    );
    stopping = true;
    verifier.close({ graceMs: config.shutdownGraceMs }).then(
      () => process.exit(EXIT_OK),
      (error: unknown) => {
        // The store's last writes may be lost (a file store's sync): say so, in one line.
        console.error(`${NAME}: stopped, but closing the store failed: ${messageOf(error)}`);
        process.exit(EXIT_RUNTIME);
      },
    );
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  // Only now: whoever waits for this line may signal at once, and must find the handlers.
  console.log(`submit-once verifier listening on ${url} (store: ${withoutPassword(config.store)}, ${config.upstream === undefined ? 'built-in orders API' : `upstream: ${config.upstream}`})`);
  return undefined;
}

function tokenOptions(secrets: readonly string[], { tokenTtlMs, tokenFormat }: CliConfig): TokenOptions {
  return { secrets, ...(tokenTtlMs !== undefined ? { ttl: tokenTtlMs } : {}), ...(tokenFormat !== undefined ? { format: tokenFormat } : {}) };
}

async function listen(verifier: Verifier, config: CliConfig): Promise<string> {
  try {
    return await verifier.listen(config.port, config.host);
  } catch (error) {
    // The store is open (a Redis or Postgres connection would keep the process alive).
    await verifier.close().catch(() => undefined);
    const code = (error as NodeJS.ErrnoException).code;
    const where = `${config.host}:${config.port}`;
    const reason =
      code === 'EADDRINUSE'
        ? 'the port is in use (stop the other server or pick another --port)'
        : code === 'EACCES'
          ? 'permission denied (ports below 1024 need privileges)'
          : code === 'EADDRNOTAVAIL'
            ? 'this machine has no such address (check --host)'
            : code === 'ENOTFOUND' || code === 'EAI_AGAIN'
              ? 'unknown host (check --host)'
              : messageOf(error);
    throw new Error(`cannot listen on ${where}: ${reason}`);
  }
}

/** The first line only: a runtime failure is reported in one line. */
function messageOf(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  return text.split('\n')[0] ?? text;
}

main(process.argv.slice(2)).then(
  (code) => {
    // exitCode, not exit(): lets stdout drain; nothing else keeps the process alive here.
    if (code !== undefined) process.exitCode = code;
  },
  (error: unknown) => {
    // exit(), not exitCode: an open Redis or Postgres client must not keep the process up.
    console.error(`${NAME}: ${messageOf(error)}`);
    process.exit(EXIT_RUNTIME);
  },
);
