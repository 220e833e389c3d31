import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { AppConfig } from '../config/app-config.js';
import { findOnPath } from '../lib/find-on-path.js';
import { redisAnswers } from './redis-connection.js';

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '::1', '[::1]']);
const START_TIMEOUT_MS = 10_000;

export class RedisUnavailableError extends Error {
  override name = 'RedisUnavailableError';
}

export interface PrivateRedis {
  readonly pid: number;
  /** Where it keeps its data, for the boot banner. */
  readonly dir: string;
  stop(): Promise<void>;
}

/** Why Redis is missing, and the one thing to do about it, for each way it can be missing. */
export function redisMissingMessage(
  config: Pick<AppConfig, 'redisUrl' | 'redisUrlExplicit'>,
  reason: 'unreachable' | 'not-local' | 'no-binary' | 'did-not-start',
): string {
  const where = `Redis is not reachable at ${config.redisUrl}`;
  switch (reason) {
    case 'unreachable':
      return [
        `${where} (REDIS_URL), and Dépêche needs it for its queues.`,
        'Check that the server runs and answers there, or unset REDIS_URL to let Dépêche start a',
        'private redis-server under DATA_DIR.',
      ].join('\n');
    case 'not-local':
      return `${where}, and Dépêche needs it for its queues. Start that server, or point REDIS_URL at one that runs.`;
    case 'no-binary':
      return [
        `${where}, and Dépêche needs it for its queues.`,
        'redis-server is not installed, so no private one can be started: install it',
        '(`apt-get install redis-server`), start one with `docker compose up -d redis`, or point',
        'REDIS_URL at a running server.',
      ].join('\n');
    case 'did-not-start':
      return `${where}, and the private redis-server that Dépêche started under DATA_DIR did not answer.`;
  }
}

/**
 * Makes sure Redis answers at REDIS_URL. When the default local address is silent and redis-server
 * is installed, starts a private one on that port, persisting under DATA_DIR/redis, and returns a
 * handle to stop it; an explicit REDIS_URL that is silent is an error, never silently replaced.
 */
export async function ensureRedis(config: AppConfig): Promise<PrivateRedis | undefined> {
  if (await redisAnswers(config.redisUrl)) return undefined;
  const url = new URL(config.redisUrl);
  if (config.redisUrlExplicit) throw new RedisUnavailableError(redisMissingMessage(config, 'unreachable'));
  if (!LOOPBACK.has(url.hostname) || url.protocol !== 'redis:') {
    throw new RedisUnavailableError(redisMissingMessage(config, 'not-local'));
  }
  const binary = findOnPath('redis-server', config.searchPath);
  if (!binary) throw new RedisUnavailableError(redisMissingMessage(config, 'no-binary'));

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
        `${redisMissingMessage(config, 'did-not-start')} Its log (${path.join(dir, 'redis.log')}) ends:\n${log}`,
      );
    }
    await sleep(100);
  }
  return {
    pid: child.pid ?? -1,
    dir,
    stop: async () => {
      process.removeListener('exit', killOnExit);
      if (running()) child.kill('SIGTERM');
      await exited;
    },
  };
}
