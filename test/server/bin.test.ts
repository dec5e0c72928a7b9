/**
 * The `submit-once-verifier` command line as a user meets it: the bin run as a child
 * process, its stderr lines and exit codes (issue 9, item 4). The parser's finer cases run
 * in process, since each child costs a Node start.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { FLAGS, UsageError, parseCli } from '../../src/server/cli-args.js';
import { fileStore } from '../../src/server/index.js';
import { openStoreSpec, withoutPassword } from '../../src/server/store-spec.js';
import { HEALTH_PATH, RESET_PATH, STATS_PATH } from '../../src/server/verifier.js';
import { hasPostgres, startPostgres } from '../support/postgres-process.js';
import { hasRedisServer, startRedis } from './redis-process.js';

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the bin to its end (every case here makes it exit on its own). */
function runBin(args: string[]): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/server/bin.ts', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`bin did not exit: ${stdout}${stderr}`));
    }, 20_000);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

const lines = (text: string): string[] => text.split('\n').filter((line) => line !== '');
const version = (JSON.parse(readFileSync('package.json', 'utf8')) as { version: string }).version;

describe.concurrent('submit-once-verifier: usage errors name the flag and exit 2, without the usage text', () => {
  const cases: Array<[string[], string]> = [
    [['--port', '99999'], '--port must be an integer from 0 to 65535, got 99999'],
    [['--upstream', 'not-a-url'], '--upstream needs an http(s) URL such as http://127.0.0.1:3000, got "not-a-url"'],
    [['--lease-ms', '-5'], '--lease-ms must be an integer from 1 to 2147483647, got -5'],
    [['--ttl-ms', '0'], '--ttl-ms must be an integer 1 or more, got 0'],
    [['--max-run-ms', 'abc'], '--max-run-ms must be an integer from 1 to 2147483647, got "abc"'],
    [['--bogus'], 'unknown flag --bogus'],
  ];
  for (const [args, message] of cases) {
    it(args.join(' '), async () => {
      const run = await runBin(args);
      expect(run.code).toBe(2);
      expect(lines(run.stderr)).toEqual([`submit-once-verifier: ${message}`, 'Run submit-once-verifier --help for the flags.']);
      expect(run.stdout).toBe('');
    });
  }
});

describe('submit-once-verifier: runtime failures are one line and exit 1', () => {
  let blocker: Server | undefined;
  afterEach(async () => {
    await new Promise((resolve) => (blocker ? blocker.close(resolve) : resolve(undefined)));
    blocker = undefined;
  });

  it('port in use', async () => {
    blocker = createServer();
    const port = await new Promise<number>((resolve) => blocker?.listen(0, '127.0.0.1', () => resolve((blocker?.address() as { port: number }).port)));
    const run = await runBin(['--port', String(port)]);
    expect(run.code).toBe(1);
    expect(lines(run.stderr)).toEqual([`submit-once-verifier: cannot listen on 127.0.0.1:${port}: the port is in use (stop the other server or pick another --port)`]);
  });

  it('Redis down', async () => {
    // Port 1 on loopback: nothing listens there.
    const run = await runBin(['--port', '0', '--store', 'redis://127.0.0.1:1']);
    expect(run.code).toBe(1);
    expect(lines(run.stderr)).toEqual([expect.stringMatching(/^submit-once-verifier: cannot connect to Redis at redis:\/\/127\.0\.0\.1:1: /)]);
  });

  it('Postgres down, without printing the password of the URL', async () => {
    const run = await runBin(['--port', '0', '--store', 'postgres://demo:s3cret@127.0.0.1:1/demo']);
    expect(run.code).toBe(1);
    expect(run.stderr).not.toContain('s3cret');
    expect(lines(run.stderr)).toEqual([expect.stringMatching(/^submit-once-verifier: cannot connect to Postgres at postgres:\/\/demo:\*\*\*@127\.0\.0\.1:1\/demo: /)]);
  });

  it('Postgres down', async () => {
    const run = await runBin(['--port', '0', '--store', 'postgres://demo@127.0.0.1:1/demo']);
    expect(run.code).toBe(1);
    expect(lines(run.stderr)).toEqual([expect.stringMatching(/^submit-once-verifier: cannot connect to Postgres at postgres:\/\/demo@127\.0\.0\.1:1\/demo: /)]);
  });

  it('a file store another process holds names the flag, the holder and its lock file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'submit-once-bin-lock-'));
    const path = join(dir, 'keys.jsonl');
    const held = fileStore(path, { sweepIntervalMs: 0 });
    try {
      const run = await runBin(['--port', '0', '--store', `file:${path}`]);
      expect(run.code).toBe(1);
      expect(lines(run.stderr)).toEqual([
        `submit-once-verifier: cannot open --store file:${path}: file store ${path} is in use by pid ${process.pid} on this host (lock file ${path}.lock): one process per file; stop that process first, or use redisStore or postgresStore for several instances`,
      ]);
    } finally {
      await held.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('passes --file-preallocate-bytes to the file store (its log is opened before the port is found taken)', async () => {
    blocker = createServer();
    const port = await new Promise<number>((resolve) => blocker?.listen(0, '127.0.0.1', () => resolve((blocker?.address() as { port: number }).port)));
    const dir = mkdtempSync(join(tmpdir(), 'submit-once-bin-prealloc-'));
    try {
      const sizes: number[] = [];
      for (const extra of [[], ['--file-preallocate-bytes', '0'], ['--file-preallocate-bytes', '4096']]) {
        const path = join(dir, `keys${sizes.length}.jsonl`);
        const run = await runBin(['--port', String(port), '--store', `file:${path}`, ...extra]);
        expect(run.code).toBe(1);
        sizes.push(statSync(path).size);
      }
      expect(sizes).toEqual([1024 * 1024, 0, 4096]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a file store that cannot be written names the flag', async () => {
    const run = await runBin(['--port', '0', '--store', 'file:/nonexistent-dir/keys.jsonl']);
    expect(run.code).toBe(1);
    expect(lines(run.stderr)).toEqual([expect.stringMatching(/^submit-once-verifier: cannot open --store file:\/nonexistent-dir\/keys\.jsonl: ENOENT/)]);
  });
});

describe('withoutPassword', () => {
  it('masks the whole password, also one with an unescaped @ (a URL parser takes the last @ of the authority)', () => {
    expect(withoutPassword('postgres://u:p@ss@db.example/app')).toBe('postgres://u:***@db.example/app');
    expect(withoutPassword('postgres:postgres://u:secret@h/db')).toBe('postgres:postgres://u:***@h/db');
    expect(withoutPassword('redis://:secret@127.0.0.1:6379')).toBe('redis://:***@127.0.0.1:6379');
    expect(withoutPassword('postgres://u@h/db?application_name=a:b@c')).toBe('postgres://u@h/db?application_name=a:b@c');
    expect(withoutPassword('file:./keys.jsonl')).toBe('file:./keys.jsonl');
  });

  it('masks a password given as a query parameter, which pg and ioredis both take (?password=, &sslpassword=)', () => {
    expect(withoutPassword('postgres:postgres://u@h/db?password=hunter2')).toBe('postgres:postgres://u@h/db?password=***');
    expect(withoutPassword('postgres://u@h/db?sslmode=require&sslpassword=hunter2&application_name=a')).toBe(
      'postgres://u@h/db?sslmode=require&sslpassword=***&application_name=a',
    );
    expect(withoutPassword('redis://127.0.0.1:6379/0?Password=hunter2#x')).toBe('redis://127.0.0.1:6379/0?Password=***#x');
    expect(withoutPassword('postgres://u:p@h/db?password=q')).toBe('postgres://u:***@h/db?password=***');
  });
});

describe.skipIf(!hasPostgres())('submit-once-verifier started on a store URL with a password', () => {
  it('does not print the password in its "listening on" line, for either spelling of the spec', async () => {
    const postgres = await startPostgres();
    try {
      // Trust authentication: the password is sent by no one, but it is in the URL.
      const url = postgres.url.replace('postgres@', 'postgres:hunter2@');
      for (const spec of [url, `postgres:${url}`]) {
        const child = spawn(process.execPath, ['--import', 'tsx', 'src/server/bin.ts', '--port', '0', '--store', spec], { stdio: ['ignore', 'pipe', 'pipe'] });
        let out = '';
        child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
        child.stderr.on('data', (chunk: Buffer) => (out += chunk.toString()));
        const exited = new Promise((resolve) => child.once('exit', resolve));
        await new Promise<void>((resolve, reject) => {
          const timer = setTimeout(() => reject(new Error(`no listening line: ${out}`)), 20_000);
          child.stdout.on('data', () => {
            if (!out.includes('listening on')) return;
            clearTimeout(timer);
            resolve();
          });
        });
        child.kill('SIGTERM');
        await exited;
        expect(out).not.toContain('hunter2');
        expect(out).toContain('postgres:***@');
      }
    } finally {
      await postgres.stop();
    }
  }, 60_000);
});

describe.skipIf(!hasRedisServer())('submit-once-verifier stopped after its store went away', () => {
  it('exits 1 with one line saying why, not silently', async () => {
    const redis = await startRedis();
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/server/bin.ts', '--port', '0', '--store', redis.url], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    await new Promise<void>((resolve) =>
      child.stdout.on('data', (chunk: Buffer) => {
        stdout += chunk.toString();
        if (stdout.includes('listening on')) resolve();
      }),
    );
    await redis.stop();
    child.kill('SIGTERM');
    expect(await exited).toBe(1);
    expect(lines(stderr)).toEqual([
      expect.stringMatching(/^submit-once-verifier: SIGTERM: stopping/),
      expect.stringMatching(/^submit-once-verifier: stopped, but closing the store failed: \S/),
    ]);
  }, 30_000);
});

describe('--store file:', () => {
  it('opens PATH as written, and a file:/// URL at its path', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'submit-once-store-spec-'));
    try {
      for (const [spec, file] of [
        [`file:${join(dir, 'a.jsonl')}`, 'a.jsonl'],
        [`file://${join(dir, 'b c.jsonl').replaceAll(' ', '%20')}`, 'b c.jsonl'],
      ] as const) {
        const store = await openStoreSpec(spec);
        await store.close();
        expect(existsSync(join(dir, file))).toBe(true);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('submit-once-verifier --version and --help', () => {
  it('--version prints the package version and exits 0', async () => {
    const run = await runBin(['--version']);
    expect(run).toEqual({ code: 0, stdout: `${version}\n`, stderr: '' });
  });

  it('--help documents every flag, the store specs and what they need, the endpoints, CORS and the exit codes', async () => {
    const run = await runBin(['--help']);
    expect(run.code).toBe(0);
    expect(run.stderr).toBe('');
    const help = run.stdout;
    for (const flag of Object.keys(FLAGS)) expect(help).toContain(`--${flag}`);
    for (const spec of ['memory', 'file:PATH', 'redis:URL', 'postgres:URL']) expect(help).toContain(spec);
    expect(help).toMatch(/redis:URL.*ioredis/);
    expect(help).toMatch(/postgres:URL.*npm install pg/);
    expect(help).toContain(`GET    ${HEALTH_PATH}`);
    expect(help).toContain(`GET    ${STATS_PATH}`);
    expect(help).toContain(`DELETE ${STATS_PATH}`);
    expect(help).toContain(`POST   ${RESET_PATH}`);
    expect(help).toMatch(/CORS is on for every origin/);
    expect(help).toContain('Idempotent-Replayed');
    // What applyCors sends: the key, Content-Type and If-Match allowed; ETag exposed with the rest.
    expect(help.replace(/\s+/g, ' ')).toContain('preflights allow Idempotency-Key, Content-Type and If-Match');
    expect(help.replace(/\s+/g, ' ')).toContain('expose Idempotent-Replayed, Retry-After, Date, Location and ETag');
    expect(help).toMatch(/Exit codes: 0 .*; 1 runtime failure .*; 2 usage error/s);
  });
});

describe('parseCli', () => {
  const usageError = (args: string[]): string => {
    try {
      parseCli(args);
    } catch (error) {
      expect(error).toBeInstanceOf(UsageError);
      return (error as Error).message;
    }
    throw new Error(`accepted: ${args.join(' ')}`);
  };

  it('reads every flag, with the defaults the help states', () => {
    expect(parseCli([])).toEqual({
      command: 'serve',
      config: {
        port: 8787,
        host: '127.0.0.1',
        upstream: undefined,
        store: 'memory',
        leaseMs: undefined,
        ttlMs: undefined,
        maxRunMs: undefined,
        principalHeader: undefined,
        principalCookies: undefined,
        sharedKeys: false,
        recovery: false,
        tokenSecrets: undefined,
        tokenTtlMs: undefined,
        upstreamConnectTimeoutMs: undefined,
        shutdownGraceMs: 5000,
        fileStore: {},
      },
    });
    expect(
      parseCli([
        '--port=0', '--host', '::1', '--upstream', 'https://api.example/v1', '--store', 'redis:127.0.0.1:6379',
        '--lease-ms', '5000', '--ttl-ms', '172800000000', '--max-run-ms', '60000', '--principal-cookie', 'session',
        '--principal-cookie', 'sid', '--recovery', '--shutdown-grace-ms', '0',
      ]),
    ).toEqual({
      command: 'serve',
      config: {
        port: 0,
        host: '::1',
        upstream: 'https://api.example/v1',
        store: 'redis:127.0.0.1:6379',
        leaseMs: 5000,
        ttlMs: 172_800_000_000,
        maxRunMs: 60_000,
        principalHeader: undefined,
        principalCookies: ['session', 'sid'],
        sharedKeys: false,
        recovery: true,
        tokenSecrets: undefined,
        tokenTtlMs: undefined,
        upstreamConnectTimeoutMs: undefined,
        shutdownGraceMs: 0,
        fileStore: {},
      },
    });
  });

  it('reads the token flags: every --token-secret in order, and refuses short secrets or a ttl without one', () => {
    const a = 'a'.repeat(32);
    const b = 'b'.repeat(40);
    const command = parseCli(['--token-secret', a, '--token-secret', b, '--token-ttl-ms', '60000']);
    expect(command.command === 'serve' && [command.config.tokenSecrets, command.config.tokenTtlMs]).toEqual([[a, b], 60_000]);
    expect(usageError(['--token-secret', 'short'])).toBe('--token-secret must be at least 32 characters, got 5');
    expect(usageError(['--token-ttl-ms', '5'])).toBe('--token-ttl-ms needs a token secret (--token-secret, --token-secret-file or SUBMIT_ONCE_TOKEN_SECRET)');
    expect(usageError(['--token-secret', a, '--token-ttl-ms', '0'])).toBe('--token-ttl-ms must be an integer 1 or more, got 0');
  });

  it('--token-format: st1 or st2 (default: none, the library issues st2), only with --token-secret', () => {
    const a = 'a'.repeat(32);
    const format = (argv: string[]) => {
      const command = parseCli(argv);
      return command.command === 'serve' ? command.config.tokenFormat : 'not serve';
    };
    expect([format(['--token-secret', a]), format(['--token-secret', a, '--token-format', 'st1']), format(['--token-secret', a, '--token-format', 'st2'])]).toEqual([undefined, 'st1', 'st2']);
    expect(usageError(['--token-format', 'st1'])).toBe('--token-format needs a token secret (--token-secret, --token-secret-file or SUBMIT_ONCE_TOKEN_SECRET)');
    expect(usageError(['--token-secret', a, '--token-format', 'ST1'])).toBe('--token-format must be st1 or st2, got "ST1"');
  });

  it('reads token secrets from SUBMIT_ONCE_TOKEN_SECRET or --token-secret-file (one a line, first signs), kept out of the command line', () => {
    const a = 'a'.repeat(32);
    const b = 'b'.repeat(40);
    const secretsOf = (args: string[], env: Record<string, string> = {}): unknown => {
      const command = parseCli(args, env);
      return command.command === 'serve' ? command.config.tokenSecrets : command;
    };
    const dir = mkdtempSync(join(tmpdir(), 'so-secret-'));
    try {
      const file = join(dir, 'secrets');
      writeFileSync(file, `${a}\r\n\n${b}\n`);
      expect(secretsOf(['--token-secret-file', file])).toEqual([a, b]);
      expect(secretsOf([], { SUBMIT_ONCE_TOKEN_SECRET: a })).toEqual([a]);
      expect(secretsOf([], { SUBMIT_ONCE_TOKEN_SECRET: `${b}\n${a}\n` })).toEqual([b, a]);
      // A flag wins over the environment, as with any setting given both ways.
      expect(secretsOf(['--token-secret', b], { SUBMIT_ONCE_TOKEN_SECRET: a })).toEqual([b]);
      expect(secretsOf(['--token-secret-file', file], { SUBMIT_ONCE_TOKEN_SECRET: 'x' })).toEqual([a, b]);
      const ttl = parseCli(['--token-ttl-ms', '60000'], { SUBMIT_ONCE_TOKEN_SECRET: a });
      expect(ttl.command === 'serve' && ttl.config.tokenTtlMs).toBe(60_000);

      const refusedWith = (args: string[], env: Record<string, string> = {}): string => {
        try {
          parseCli(args, env);
        } catch (error) {
          expect(error).toBeInstanceOf(UsageError);
          return (error as Error).message;
        }
        throw new Error(`accepted: ${args.join(' ')}`);
      };
      expect(refusedWith(['--token-secret', a, '--token-secret-file', file])).toBe('--token-secret and --token-secret-file cannot be combined');
      writeFileSync(file, `${a}\nshort\n`);
      // The secret itself is never printed, only where it is.
      expect(refusedWith(['--token-secret-file', file])).toBe(`--token-secret-file ${file}: the secret on line 2 must be at least 32 characters, got 5`);
      writeFileSync(file, '\n\n');
      expect(refusedWith(['--token-secret-file', file])).toBe(`--token-secret-file ${file} holds no secret`);
      expect(refusedWith(['--token-secret-file', join(dir, 'missing')])).toBe(`--token-secret-file cannot read ${join(dir, 'missing')}: no such file`);
      expect(refusedWith([], { SUBMIT_ONCE_TOKEN_SECRET: 'short' })).toBe('SUBMIT_ONCE_TOKEN_SECRET: the secret on line 1 must be at least 32 characters, got 5');
      // Set but empty: refused rather than read as "token mode off", which would accept any key.
      expect(refusedWith([], { SUBMIT_ONCE_TOKEN_SECRET: '' })).toBe('SUBMIT_ONCE_TOKEN_SECRET holds no secret (unset it to turn token mode off)');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('reads --upstream-connect-timeout-ms, only with --upstream', () => {
    const command = parseCli(['--upstream', 'http://127.0.0.1:3000', '--upstream-connect-timeout-ms', '250']);
    expect(command.command === 'serve' && command.config.upstreamConnectTimeoutMs).toBe(250);
    expect(usageError(['--upstream-connect-timeout-ms', '250'])).toBe('--upstream-connect-timeout-ms needs --upstream');
    expect(usageError(['--upstream', 'http://127.0.0.1:3000', '--upstream-connect-timeout-ms', '0'])).toBe(
      '--upstream-connect-timeout-ms must be an integer from 1 to 2147483647, got 0',
    );
  });

  it('refuses --upstream-connect-timeout-ms over --max-run-ms, which it was cut to without a word', () => {
    const up = ['--upstream', 'http://127.0.0.1:3000'];
    expect(usageError([...up, '--max-run-ms', '1000', '--upstream-connect-timeout-ms', '5000'])).toBe(
      '--upstream-connect-timeout-ms (5000) must be at most --max-run-ms (1000): connecting is part of the run',
    );
    expect(usageError([...up, '--upstream-connect-timeout-ms', '400000'])).toBe(
      '--upstream-connect-timeout-ms (400000) must be at most --max-run-ms (300000, the default): connecting is part of the run',
    );
    const equal = parseCli([...up, '--max-run-ms', '1000', '--upstream-connect-timeout-ms', '1000']);
    expect(equal.command === 'serve' && equal.config.upstreamConnectTimeoutMs).toBe(1000);
    // The default (5000) still gives way to a shorter run limit, as the help says.
    const byDefault = parseCli([...up, '--max-run-ms', '1000']);
    expect(byDefault.command === 'serve' && byDefault.config.upstreamConnectTimeoutMs).toBeUndefined();
  });

  it('names a long flag typed with one dash as typed, and the flag meant (was "unknown flag -p" for -port)', () => {
    expect(usageError(['-port', '8787'])).toBe('unknown flag -port (did you mean --port?)');
    expect(usageError(['-store=memory'])).toBe('unknown flag -store (did you mean --store?)');
    expect(usageError(['-xyz'])).toBe('unknown flag -xyz');
    expect(usageError(['-p', '1'])).toBe('unknown flag -p');
  });

  it('--help and --version win over the other flags', () => {
    expect(parseCli(['--port', '99999', '-h'])).toEqual({ command: 'help' });
    expect(parseCli(['-v'])).toEqual({ command: 'version' });
  });

  it('names the flag for values Number() or URL() would take or Node would word its own way', () => {
    expect(usageError(['--port', ''])).toBe('--port must be an integer from 0 to 65535, got ""');
    expect(usageError(['--port', '0x10'])).toBe('--port must be an integer from 0 to 65535, got "0x10"');
    expect(usageError(['--lease-ms', '1e3'])).toBe('--lease-ms must be an integer from 1 to 2147483647, got "1e3"');
    expect(usageError(['--lease-ms', '2147483648'])).toBe('--lease-ms must be an integer from 1 to 2147483647, got 2147483648');
    expect(usageError(['--port', '80.5'])).toBe('--port must be an integer from 0 to 65535, got 80.5');
    expect(usageError(['--upstream', 'ftp://host/'])).toMatch(/^--upstream needs an http\(s\) URL/);
    // The proxy forwards to the URL's origin and path only: these parts were dropped without a word.
    expect(usageError(['--upstream', 'http://user:pw@api.example/'])).toBe('--upstream cannot carry credentials (user:password@); the caller\'s Authorization header is forwarded, got "http://user:***@api.example/"');
    expect(usageError(['--upstream', 'http://api.example/v1?tenant=a'])).toBe('--upstream cannot have a query or a fragment (each request\'s own query is forwarded), got "http://api.example/v1?tenant=a"');
    expect(usageError(['--upstream', 'http://api.example/v1#x'])).toMatch(/^--upstream cannot have a query or a fragment/);
    expect(usageError(['--port', '--host', 'x'])).toBe('--port needs a value');
    expect(usageError(['--store'])).toBe('--store needs a value');
    expect(usageError(['--recovery=yes'])).toBe('--recovery takes no value, got "yes"');
    expect(usageError(['-p', '80'])).toBe('unknown flag -p');
    expect(usageError(['8787'])).toMatch(/^unexpected argument "8787": every value goes after its flag/);
  });

  it('reads the file store flags, only with --store file:', () => {
    const command = parseCli(['--store', 'file:k.jsonl', '--file-preallocate-bytes', '0', '--file-compact-after-lines', '500']);
    expect(command.command === 'serve' && command.config.fileStore).toEqual({ preallocateBytes: 0, compactAfterLines: 500 });
    const defaults = parseCli(['--store', 'file:k.jsonl']);
    expect(defaults.command === 'serve' && defaults.config.fileStore).toEqual({});
    expect(usageError(['--file-preallocate-bytes', '0'])).toBe('--file-preallocate-bytes needs --store file:PATH');
    expect(usageError(['--store', 'memory', '--file-compact-after-lines', '5'])).toBe('--file-compact-after-lines needs --store file:PATH');
    expect(usageError(['--store', 'file:k', '--file-preallocate-bytes', '-1'])).toBe('--file-preallocate-bytes must be an integer from 0 to 1073741824, got -1');
    expect(usageError(['--store', 'file:k', '--file-compact-after-lines', '0'])).toBe('--file-compact-after-lines must be an integer 1 or more, got 0');
    const strict = parseCli(['--store', 'file:k.jsonl', '--file-durability', 'strict']);
    expect(strict.command === 'serve' && strict.config.fileStore).toEqual({ durability: 'strict' });
    expect(usageError(['--store', 'memory', '--file-durability', 'strict'])).toBe('--file-durability needs --store file:PATH');
    expect(usageError(['--store', 'file:k', '--file-durability', 'fast'])).toBe('--file-durability must be relaxed or strict, got "fast"');
  });

  it('checks the store spec and the principal flags', () => {
    expect(usageError(['--store', 'mysql://x'])).toBe('--store must be memory, file:PATH, redis:URL or postgres:URL, got "mysql://x"');
    expect(usageError(['--store', 'file:'])).toBe('--store file: needs a path, e.g. file:./keys.jsonl');
    expect(usageError(['--store', 'redis:'])).toBe('--store redis: needs a URL, e.g. redis://127.0.0.1');
    // Read as a path, "//./keys.jsonl" was /keys.jsonl: a log at the file system's root.
    expect(usageError(['--store', 'file://./keys.jsonl'])).toBe(
      '--store file:// needs an absolute file URL such as file:///var/keys.jsonl (or file:PATH, e.g. file:./keys.jsonl), got "file://./keys.jsonl"',
    );
    expect(usageError(['--store', 'file://'])).toMatch(/^--store file:\/\/ needs an absolute file URL/);
    expect(usageError(['--principal-header', 'X User'])).toMatch(/^--principal-header must be a header name .*, got "X User"$/);
    expect(usageError(['--principal-cookie', 'a;b'])).toMatch(/^--principal-cookie must be a cookie name/);
    expect(usageError(['--shared-keys', '--principal-header', 'X-User'])).toMatch(/^--shared-keys cannot be combined/);
    expect(usageError(['--principal-header', 'X-User', '--principal-cookie', 's'])).toMatch(/^--principal-cookie applies to the default scope/);
  });
});
