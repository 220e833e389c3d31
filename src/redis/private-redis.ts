import { type ChildProcess, spawn } from 'node:child_process';
import { accessSync, constants, mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { AppConfig } from '../config/app-config.js';
import { redisAnswers } from './redis-connection.js';

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '::1', '[::1]']);
const START_TIMEOUT_MS = 10_000;

export class RedisUnavailableError extends Error {
  override name = 'RedisUnavailableError';
}

function findOnPath(binary: string, searchPath: string): string | undefined {
  for (const dir of searchPath.split(path.delimiter).filter(Boolean)) {
    const candidate = path.join(dir, binary);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not in this folder
    }
  }
  return undefined;
}

export interface PrivateRedis {
  readonly pid: number;
  stop(): Promise<void>;
}

function howToGetRedis(url: string): string {
  return [
    `Redis is not reachable at ${url}, and Dépêche needs it for its queues.`,
    'Start one with `docker compose up -d redis`, or install it (`apt-get install redis-server`) so that',
    'Dépêche can start a private one under DATA_DIR, or point REDIS_URL at a running server.',
  ].join('\n');
}

/**
 * Makes sure Redis answers at REDIS_URL. When the default local address is silent and redis-server
 * is installed, starts a private one on that port, persisting under DATA_DIR/redis, and returns a
 * handle to stop it; an explicit REDIS_URL that is silent is an error, never silently replaced.
 */
export async function ensureRedis(config: AppConfig): Promise<PrivateRedis | undefined> {
  if (await redisAnswers(config.redisUrl)) return undefined;
  const url = new URL(config.redisUrl);
  if (config.redisUrlExplicit || !LOOPBACK.has(url.hostname) || url.protocol !== 'redis:') {
    throw new RedisUnavailableError(howToGetRedis(config.redisUrl));
  }
  const binary = findOnPath('redis-server', config.searchPath);
  if (!binary) throw new RedisUnavailableError(howToGetRedis(config.redisUrl));

  const dir = path.join(config.dataDir, 'redis');
  mkdirSync(dir, { recursive: true });
  const child: ChildProcess = spawn(
    binary,
    [
      '--bind',
      '127.0.0.1',
      '--port',
      url.port || '6379',
      '--dir',
      dir,
      '--appendonly',
      'yes',
      '--maxmemory-policy',
      'noeviction',
      '--logfile',
      'redis.log',
      '--daemonize',
      'no',
    ],
    { stdio: 'ignore' },
  );
  const exited = new Promise<void>((resolve) => {
    child.once('exit', () => {
      resolve();
    });
  });
  const running = (): boolean => child.exitCode === null && child.signalCode === null;
  // A crash of this process must not leave the private server running.
  const killOnExit = (): void => {
    child.kill('SIGTERM');
  };
  process.once('exit', killOnExit);

  const deadline = Date.now() + START_TIMEOUT_MS;
  while (!(await redisAnswers(config.redisUrl, 500))) {
    if (!running() || Date.now() > deadline) {
      child.kill('SIGKILL');
      let log = '';
      try {
        log = readFileSync(path.join(dir, 'redis.log'), 'utf8').trim().split('\n').slice(-5).join('\n');
      } catch {
        // no log written
      }
      throw new RedisUnavailableError(
        `${howToGetRedis(config.redisUrl)}\nThe private redis-server did not start:\n${log}`,
      );
    }
    await sleep(100);
  }
  return {
    pid: child.pid ?? -1,
    stop: async () => {
      process.removeListener('exit', killOnExit);
      if (running()) child.kill('SIGTERM');
      await exited;
    },
  };
}
