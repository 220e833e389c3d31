import { existsSync } from 'node:fs';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { redisAnswers } from '../src/redis/redis-connection.js';
import { freePort } from './helpers/net.js';
import {
  MissingPackages,
  missingPrograms,
  onPath,
  postgresBinaries,
  resolvePostgres,
  resolveRedis,
  startPrivatePostgres,
  startPrivateRedis,
} from './helpers/test-services.js';

describe('what the test command sets up by itself', () => {
  it('starts a private PostgreSQL cluster that takes French text without a password, and removes it', async () => {
    const bin = postgresBinaries();
    expect(bin, 'PostgreSQL is installed').toBeDefined();
    const cluster = await startPrivatePostgres(bin!);
    const client = new pg.Client({ connectionString: cluster.url });
    await client.connect();
    try {
      const { rows } = await client.query<{ text: string }>("select 'Dépêche : « déjà » vu' as text");
      expect(rows[0]?.text).toBe('Dépêche : « déjà » vu');
      await client.query('create database depeche_private_check');
    } finally {
      await client.end();
    }
    await cluster.stop?.();
    const after = new pg.Client({ connectionString: cluster.url, connectionTimeoutMillis: 2000 });
    after.on('error', () => undefined);
    await expect(after.connect()).rejects.toThrow();
  });

  it('starts a private Redis and stops it', async () => {
    const redis = await startPrivateRedis(onPath('redis-server')!);
    expect(await redisAnswers(redis.url)).toBe(true);
    await redis.stop?.();
    expect(await redisAnswers(redis.url, 300)).toBe(false);
  });

  it('uses a Redis or PostgreSQL it was pointed at, and says in one line when nothing answers there', async () => {
    const port = await freePort();
    await expect(resolveRedis({ TEST_REDIS_URL: `redis://127.0.0.1:${port}` })).rejects.toThrow(
      `TEST_REDIS_URL: nothing answers at redis://127.0.0.1:${port}; start Redis there, or unset it to let the tests start their own`,
    );
    await expect(
      resolvePostgres({ TEST_POSTGRES_URL: `postgres://postgres:secret@127.0.0.1:${port}/postgres` }),
    ).rejects.toThrow(
      `TEST_POSTGRES_URL: cannot connect to postgres://postgres:***@127.0.0.1:${port}/postgres; check the server and the password, or unset it to let the tests start their own`,
    );
  });

  it('names the Debian packages to install when a program is missing', () => {
    expect(missingPrograms({ PATH: '', CHROMIUM_PATH: '/nonexistent/chromium' })).toEqual([
      'chromium',
      'spamassassin',
    ]);
    expect(existsSync('/usr/bin/chromium') || process.env.CHROMIUM_PATH !== undefined).toBe(true);
    expect(missingPrograms()).toEqual([]);
    expect(new MissingPackages(['chromium', 'spamassassin']).message).toBe(
      'The tests need chromium, spamassassin: apt-get install -y chromium spamassassin',
    );
  });
});
