import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { findOnPath } from '../../src/lib/find-on-path.js';
import { redisAnswers } from '../../src/redis/redis-connection.js';
import { freePort } from './net.js';
import { PATIENCE_MS } from './patience.js';

/**
 * What the tests need from the machine, found or started before the suite: Redis and PostgreSQL
 * (those that answer, else private ones in a temporary folder), Chromium and SpamAssassin.
 */

export const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379';
export const DEFAULT_POSTGRES_URL = 'postgres://postgres@127.0.0.1:5432/postgres';

export interface TestService {
  readonly url: string;
  /** Set when the suite started the service: stops it and removes its files. */
  readonly stop?: () => Promise<void>;
}

export class MissingPackages extends Error {
  constructor(readonly packages: readonly string[]) {
    super(`The tests need ${packages.join(', ')}: apt-get install -y ${packages.join(' ')}`);
  }
}

export function onPath(binary: string, searchPath = process.env.PATH ?? ''): string | undefined {
  return findOnPath(binary, searchPath);
}

/** Debian keeps PostgreSQL's server programs out of the PATH, one folder per major version. */
export function postgresBinaries(): string | undefined {
  const onThePath = onPath('initdb');
  if (onThePath && onPath('pg_ctl')) return path.dirname(onThePath);
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return undefined;
  const versions = readdirSync(root)
    .filter((version) => existsSync(path.join(root, version, 'bin', 'pg_ctl')))
    .sort((a, b) => Number(b) - Number(a));
  return versions[0] === undefined ? undefined : path.join(root, versions[0], 'bin');
}

async function postgresAnswers(url: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 3000 });
  client.on('error', () => undefined);
  try {
    await client.connect();
    await client.query('select 1');
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => undefined);
  }
}

async function waitUntil(
  what: string,
  check: () => Promise<boolean>,
  timeoutMs = PATIENCE_MS,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await sleep(100);
  }
}

/** A private redis-server on a free port, keeping nothing on disk. */
export async function startPrivateRedis(binary: string): Promise<TestService> {
  const port = await freePort();
  const dir = mkdtempSync(path.join(tmpdir(), 'depeche-test-redis-'));
  const child = spawn(
    binary,
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir],
    { stdio: 'ignore' },
  );
  const url = `redis://127.0.0.1:${port}`;
  await waitUntil('the private redis-server', () => redisAnswers(url, 300));
  return {
    url,
    stop: async () => {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * A private PostgreSQL cluster: initdb in a temporary folder with trust authentication, on a free
 * port of 127.0.0.1, without fsync (the tests need speed, not durability). PostgreSQL refuses to
 * run as root, so under root it runs as the postgres user that Debian's package creates.
 */
export async function startPrivatePostgres(bin: string): Promise<TestService> {
  const dir = mkdtempSync(path.join(tmpdir(), 'depeche-test-postgres-'));
  const data = path.join(dir, 'data');
  const asRoot = process.getuid?.() === 0;
  const run = (program: string, args: string[]): void => {
    const command = asRoot
      ? ['runuser', '-u', 'postgres', '--', path.join(bin, program), ...args]
      : [path.join(bin, program), ...args];
    execFileSync(command[0]!, command.slice(1), { stdio: 'pipe' });
  };
  if (asRoot) {
    const uid = Number(execFileSync('id', ['-u', 'postgres']).toString().trim());
    const gid = Number(execFileSync('id', ['-g', 'postgres']).toString().trim());
    chownSync(dir, uid, gid);
  }
  const port = await freePort();
  run('initdb', ['-D', data, '-A', 'trust', '-U', 'postgres', '-E', 'UTF8', '--locale=C.UTF-8', '--no-sync']);
  run('pg_ctl', [
    '-D',
    data,
    '-l',
    path.join(dir, 'server.log'),
    '-w',
    '-o',
    `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=300`,
    'start',
  ]);
  const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
  await waitUntil('the private PostgreSQL', () => postgresAnswers(url));
  return {
    url,
    stop: () => {
      spawnSync(asRoot ? 'runuser' : path.join(bin, 'pg_ctl'), [
        ...(asRoot ? ['-u', 'postgres', '--', path.join(bin, 'pg_ctl')] : []),
        '-D',
        data,
        '-m',
        'immediate',
        'stop',
      ]);
      rmSync(dir, { recursive: true, force: true });
      return Promise.resolve();
    },
  };
}

/**
 * The Redis the tests use: TEST_REDIS_URL when set (it must answer), else the local default when
 * it answers, else a private one when redis-server is installed.
 */
export async function resolveRedis(env: NodeJS.ProcessEnv = process.env): Promise<TestService> {
  const given = env.TEST_REDIS_URL;
  if (given) {
    if (await redisAnswers(given)) return { url: given };
    throw new Error(
      `TEST_REDIS_URL: nothing answers at ${given}; start Redis there, or unset it to let the tests start their own`,
    );
  }
  if (await redisAnswers(DEFAULT_REDIS_URL)) return { url: DEFAULT_REDIS_URL };
  const binary = onPath('redis-server', env.PATH);
  if (!binary) throw new MissingPackages(['redis-server']);
  return startPrivateRedis(binary);
}

/**
 * The PostgreSQL the tests use: TEST_POSTGRES_URL when set (it must answer), else the local
 * default when it answers without a password, else a private cluster when PostgreSQL is installed.
 */
export async function resolvePostgres(env: NodeJS.ProcessEnv = process.env): Promise<TestService> {
  const given = env.TEST_POSTGRES_URL;
  if (given) {
    if (await postgresAnswers(given)) return { url: given };
    throw new Error(
      `TEST_POSTGRES_URL: cannot connect to ${given.replace(/:[^:@/]*@/, ':***@')}; check the server and the password, or unset it to let the tests start their own`,
    );
  }
  if (await postgresAnswers(DEFAULT_POSTGRES_URL)) return { url: DEFAULT_POSTGRES_URL };
  const bin = postgresBinaries();
  if (!bin) throw new MissingPackages(['postgresql']);
  return startPrivatePostgres(bin);
}

/** Debian packages whose programs the browser and email tests run, when missing. */
export function missingPrograms(env: NodeJS.ProcessEnv = process.env): string[] {
  const missing: string[] = [];
  if (!existsSync(env.CHROMIUM_PATH ?? '/usr/bin/chromium')) missing.push('chromium');
  if (!onPath('spamassassin', env.PATH)) missing.push('spamassassin');
  return missing;
}
