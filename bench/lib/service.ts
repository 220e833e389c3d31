import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { freePort } from '../../test/helpers/net.js';
import { deleteQueueKeys } from '../../test/helpers/queues.js';

export const ROOT = path.resolve(import.meta.dirname, '..', '..');

/** The flags `npm start` gives Node (package.json's start script): the one-process default's. */
export const NPM_START_NODE_ARGS: readonly string[] = (
  JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { scripts: { start: string } }
).scripts.start
  .split(/\s+/)
  .filter((word) => word.startsWith('--'));
export const BENCH_TOKEN = `bench-${randomBytes(16).toString('hex')}`;

export interface RunningProcess {
  readonly child: ChildProcess;
  /** Peak resident set size so far (VmHWM), in bytes. */
  peakRss(): number;
  stop(): Promise<void>;
}

export interface RunningService extends RunningProcess {
  readonly url: string;
}

function peakRssOf(child: ChildProcess): number {
  const status = readFileSync(`/proc/${child.pid}/status`, 'utf8');
  const kb = /^VmHWM:\s+(\d+) kB/m.exec(status)?.[1];
  return Number(kb ?? 0) * 1024;
}

/**
 * The built service in a process of its own. Given no QUEUE_PREFIX, it gets one of its own, whose
 * Redis keys `stop` deletes; a deployment that shares its prefix between processes deletes its
 * keys itself once they have all stopped (`forgetDeployment`).
 */
function spawnDist(
  env: Record<string, string>,
  stdout: 'inherit' | 'pipe',
  nodeArgs: readonly string[] = [],
): RunningProcess {
  const ownPrefix = env.QUEUE_PREFIX === undefined ? `bench-${randomBytes(4).toString('hex')}` : undefined;
  const child = spawn(process.execPath, [...nodeArgs, path.join(ROOT, 'dist', 'main.js')], {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH ?? '',
      HOST: '127.0.0.1',
      ADMIN_API_TOKEN: BENCH_TOKEN,
      LOG_LEVEL: 'warn',
      // As production logs (NODE_ENV=production's default): lines for people cost a thread.
      LOG_FORMAT: 'json',
      ...(ownPrefix === undefined ? {} : { QUEUE_PREFIX: ownPrefix }),
      ...env,
    },
    stdio: ['ignore', stdout, 'inherit'],
  });
  return {
    child,
    peakRss: () => peakRssOf(child),
    stop: async () => {
      // A process ended by a signal (a SIGKILL of the recovery benchmark) has no exit code.
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGTERM');
        await exited;
      }
      if (ownPrefix !== undefined) await forgetDeployment(ownPrefix);
    },
  };
}

/** The built service (dist/main.js) in its own process, as production runs it. */
export async function startService(
  env: Record<string, string>,
  nodeArgs: readonly string[] = [],
): Promise<RunningService> {
  const port = await freePort();
  const service = spawnDist({ PORT: String(port), ...env }, 'inherit', nodeArgs);
  const { child } = service;
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    try {
      if ((await fetch(`${url}/health`)).ok) break;
    } catch {
      // not listening yet
    }
    if (child.exitCode !== null || Date.now() > deadline) throw new Error('The service did not start');
    await sleep(100);
  }
  return { url, ...service };
}

/** A ROLE=worker process, resolved once it says it has started. */
export function startWorker(
  env: Record<string, string>,
  nodeArgs: readonly string[] = [],
): Promise<RunningProcess> {
  return startWithoutHttp({ ROLE: 'worker', ...env }, 'Dépêche worker started', nodeArgs);
}

/** A ROLE=inbound process (the inbound mail listener), resolved once it says it has started. */
export function startInbound(env: Record<string, string>): Promise<RunningProcess> {
  return startWithoutHttp({ ROLE: 'inbound', ...env }, 'Dépêche inbound mail started');
}

/** A process of a role without HTTP, resolved once its banner is out. */
async function startWithoutHttp(
  env: Record<string, string>,
  banner: string,
  nodeArgs: readonly string[] = [],
): Promise<RunningProcess> {
  const started = spawnDist({ ...env, LOG_LEVEL: 'info' }, 'pipe', nodeArgs);
  const { child } = started;
  await new Promise<void>((resolve, reject) => {
    let seen = '';
    const timer = setTimeout(() => {
      reject(new Error(`No "${banner}" within a minute`));
    }, 60_000);
    child.stdout?.on('data', (chunk: Buffer) => {
      if (seen === 'started') return;
      seen = (seen + chunk.toString()).slice(-4096);
      if (seen.includes(banner)) {
        seen = 'started';
        clearTimeout(timer);
        resolve();
      }
    });
    child.once('exit', (code) => {
      reject(new Error(`The ${env.ROLE ?? ''} process exited with ${code}`));
    });
  });
  // Keep draining its logs so that a full pipe never stalls it.
  child.stdout?.resume();
  return started;
}

/**
 * Deletes a deployment's keys (everything under its QUEUE_PREFIX: queues, sessions, counters) from
 * the Redis it shares with other work, once its processes have stopped: a run leaves Redis as it
 * found it, and the next run's "Redis used memory" is not the last one's leftovers.
 */
export async function forgetDeployment(queuePrefix: string): Promise<void> {
  const redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
  try {
    await deleteQueueKeys(redis, queuePrefix);
  } finally {
    redis.disconnect();
  }
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/**
 * A helper process of bench/lib (`script`: a baseline server, the relay's delay proxy), given a free
 * port as its first argument; resolved once it says it listens.
 */
export async function startListeningScript(
  script: string,
  args: readonly string[],
): Promise<{ port: number; child: ChildProcess }> {
  const port = await freePort();
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', path.join(ROOT, 'bench', 'lib', script), String(port), ...args],
    { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] },
  );
  await new Promise<void>((resolve) =>
    child.stdout.once('data', () => {
      resolve();
    }),
  );
  return { port, child };
}
