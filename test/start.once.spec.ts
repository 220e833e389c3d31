import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Queue } from 'bullmq';
import { afterAll, describe, expect, it } from 'vitest';
import { eq } from 'drizzle-orm';
import { loadConfig } from '../src/config/app-config.js';
import { DatabaseClient } from '../src/database/database-client.js';
import { articles, editions, subscribers } from '../src/database/schema.js';
import { ROWS_IN_FLIGHT } from '../src/delivery/edition-delivery.service.js';
import { ensureRedis, RedisUnavailableError } from '../src/redis/private-redis.js';
import { redisAnswers } from '../src/redis/redis-connection.js';
import { freePort } from './helpers/net.js';
import { fromCorpus, sendInbound } from './helpers/inbound.js';
import { type ReceivedMail, startSmtpSink } from './helpers/smtp-sink.js';
import { createPostgresDatabase } from './helpers/test-database.js';
import { TEST_REDIS_URL } from './helpers/services.js';
import { type NodeRun, runNode, waitFor } from './helpers/processes.js';

const root = path.resolve(import.meta.dirname, '..');
const main = path.join(root, 'dist', 'main.js');
const REDIS_URL = TEST_REDIS_URL;

/** `node dist/main.js` as `npm start` runs it, in a clean folder, with only the given environment. */
function runService(cwd: string, env: Record<string, string>): NodeRun {
  return runNode(cwd, [main], env);
}

const folders: string[] = [];
function cleanFolder(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'depeche-start-'));
  folders.push(dir);
  return dir;
}

afterAll(() => {
  for (const dir of folders) rmSync(dir, { recursive: true, force: true });
});

describe('npm start on a clean checkout', () => {
  it('serves the blog with the embedded database, with nothing configured but Redis', async () => {
    const cwd = cleanFolder();
    const port = await freePort();
    const run = runService(cwd, { PORT: String(port), REDIS_URL, QUEUE_PREFIX: `start-${port}` });
    try {
      await waitFor('the service to listen', () => run.output().includes('Dépêche is serving'));
      const home = await fetch(`http://127.0.0.1:${port}/`);
      expect(home.status).toBe(200);
      expect(await home.text()).toContain('<html lang="fr">');
      const health = await fetch(`http://127.0.0.1:${port}/health`);
      expect(await health.json()).toMatchObject({ status: 'ok', info: { database: { engine: 'pglite' } } });
      expect(existsSync(path.join(cwd, 'var', 'pglite'))).toBe(true);
      expect(existsSync(path.join(cwd, 'var', 'secret-key'))).toBe(true);
      // The data holds subscribers' personal data: no other user can reach any of it. The embedded
      // database sets its own files' modes, so the folders are what must be closed.
      const data = path.join(cwd, 'var');
      const folders = ['', ...readdirSync(data, { recursive: true, encoding: 'utf8' })].filter((name) =>
        statSync(path.join(data, name)).isDirectory(),
      );
      expect(folders.filter((name) => (statSync(path.join(data, name)).mode & 0o077) !== 0)).toEqual([]);
      expect(statSync(path.join(data, 'secret-key')).mode & 0o077).toBe(0);
      // The first start copied the build's empty database whole and made the copy its own (the
      // files PostgreSQL writes later sit in those closed folders, with modes of its choosing).
      const database = path.join(data, 'pglite');
      expect(statSync(path.join(database, 'PG_VERSION')).mode & 0o077).toBe(0);
      expect(existsSync(`${database}.partial`)).toBe(false);
      // A banner for a person: where the blog and the desk are, what it uses, where it listens.
      const banner = run.output();
      expect(banner).toMatch(
        new RegExp(`Dépêche is serving http://localhost:${port} \\(role all\\), ready in \\d+(\\.\\d+)? s`),
      );
      expect(banner).toContain(`Desk      http://localhost:${port}/admin`);
      expect(banner).toContain(`Listening port ${port} on every interface`);
      expect(banner).toContain('Database  embedded PGlite in var/pglite');
      expect(banner).toContain('Mail      written as .eml files to var/outbox');
      expect(banner).toContain(`Redis     ${REDIS_URL}`);
      // Nest's route table is for debugging, not for every boot.
      expect(banner).not.toContain('Mapped {');
      expect(banner).not.toContain('dependencies initialized');
    } finally {
      run.child.kill('SIGTERM');
    }
    expect(await run.exited).toBe(0);
  });

  it('logs one JSON object per line with LOG_FORMAT=json, the banner as fields', async () => {
    const port = await freePort();
    const run = runService(cleanFolder(), {
      PORT: String(port),
      REDIS_URL,
      QUEUE_PREFIX: `json-${port}`,
      LOG_FORMAT: 'json',
    });
    try {
      await waitFor('the service to listen', () => run.output().includes('Dépêche is serving'));
      await fetch(`http://127.0.0.1:${port}/`);
      await waitFor('the request line', () => run.output().includes('"url":"/"'));
    } finally {
      run.child.kill('SIGTERM');
    }
    expect(await run.exited).toBe(0);
    const lines = run
      .output()
      .split('\n')
      .filter((line) => line !== '')
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(lines.find((line) => String(line.msg).startsWith('Dépêche is serving'))).toMatchObject({
      level: 30,
      role: 'all',
      deskUrl: `http://localhost:${port}/admin`,
      database: 'embedded PGlite in var/pglite',
      listening: `port ${port} on every interface`,
      bootSeconds: expect.any(Number),
    });
    expect(lines.find((line) => line.context === 'HTTP')).toMatchObject({
      req: { method: 'GET', url: '/' },
      res: { statusCode: 200 },
    });
  });

  it('stops at boot with one line per configuration problem', async () => {
    const run = runService(cleanFolder(), { PORT: 'eighty', LOCALE: 'de', REDIS_URL });
    expect(await run.exited).toBe(1);
    expect(run.output()).toBe(
      'Invalid configuration:\n  - PORT: expected a whole number from 0 to 65535, got "eighty"\n  - LOCALE: expected one of fr, en, got "de"\n',
    );
  });

  it('says how to get Redis when the one it was given does not answer', async () => {
    const run = runService(cleanFolder(), { REDIS_URL: 'redis://127.0.0.1:1' });
    expect(await run.exited).toBe(1);
    // REDIS_URL was given: the server there is what to check, whatever is installed here.
    expect(run.output()).toBe(
      [
        'Redis is not reachable at redis://127.0.0.1:1 (REDIS_URL), and Dépêche needs it for its queues.',
        'Check that the server runs and answers there, or unset REDIS_URL to let Dépêche start a',
        'private redis-server under DATA_DIR.',
        '',
      ].join('\n'),
    );
  });
});

describe('a private Redis when none runs', () => {
  it('starts redis-server under DATA_DIR on the default address, serves queues, and stops it', async () => {
    const port = await freePort();
    const dataDir = cleanFolder();
    // The default address, as if REDIS_URL were unset, on a port where nothing runs.
    const config = {
      ...loadConfig({ DATA_DIR: dataDir, PATH: process.env.PATH }),
      redisUrl: `redis://127.0.0.1:${port}`,
    };
    const redis = await ensureRedis(config);
    expect(redis).toBeDefined();
    try {
      expect(await redisAnswers(config.redisUrl)).toBe(true);
      const queue = new Queue('probe', { connection: { host: '127.0.0.1', port }, prefix: 'probe' });
      await queue.add('job', { n: 1 });
      expect(await queue.count()).toBe(1);
      await queue.close();
      expect(existsSync(path.join(dataDir, 'redis', 'appendonlydir'))).toBe(true);
    } finally {
      await redis?.stop();
    }
    expect(await redisAnswers(config.redisUrl, 300)).toBe(false);
  });

  it('does not start one for an explicit REDIS_URL, nor without redis-server on the PATH', async () => {
    const port = await freePort();
    const base = loadConfig({ DATA_DIR: cleanFolder() });
    await expect(
      ensureRedis({ ...base, redisUrl: `redis://127.0.0.1:${port}`, redisUrlExplicit: true }),
    ).rejects.toThrow(RedisUnavailableError);
    await expect(
      ensureRedis({ ...base, redisUrl: `redis://127.0.0.1:${port}`, searchPath: '' }),
    ).rejects.toThrow(
      /redis-server is not installed, so no private one can be started: install it\n\(`apt-get install redis-server`\)/,
    );
  });

  it('leaves a Redis that answers alone', async () => {
    expect(
      await ensureRedis({ ...loadConfig({ DATA_DIR: cleanFolder() }), redisUrl: REDIS_URL }),
    ).toBeUndefined();
  });
});

describe('a Redis outage', () => {
  it('is logged once when it starts and once when it ends, as JSON lines, with no stack per retry', async () => {
    const redisPort = await freePort();
    const redisUrl = `redis://127.0.0.1:${redisPort}`;
    const redisDir = cleanFolder();
    const startRedis = (): ChildProcess =>
      spawn(
        'redis-server',
        [
          '--port',
          String(redisPort),
          '--bind',
          '127.0.0.1',
          '--save',
          '',
          '--appendonly',
          'no',
          '--dir',
          redisDir,
        ],
        { stdio: 'ignore' },
      );
    let redis = startRedis();
    await waitFor('Redis to answer', () => redisAnswers(redisUrl, 300));
    const port = await freePort();
    const run = runService(cleanFolder(), {
      PORT: String(port),
      REDIS_URL: redisUrl,
      QUEUE_PREFIX: `outage-${port}`,
      LOG_FORMAT: 'json',
    });
    try {
      await waitFor('the service to listen', () => run.output().includes('Dépêche is serving'));
      const stopped = new Promise((resolve) => redis.once('exit', resolve));
      redis.kill('SIGKILL');
      await stopped;
      await waitFor('the outage to be logged', () => run.output().includes('Redis is unreachable'));
      // Every connection retries many times meanwhile; none of those retries may add a line.
      await new Promise((resolve) => setTimeout(resolve, 5000));
      redis = startRedis();
      await waitFor('the return to be logged', () => run.output().includes('Redis is back'));
      await waitFor(
        'the service to be healthy',
        async () => (await fetch(`http://127.0.0.1:${port}/health`)).ok,
      );
    } finally {
      run.child.kill('SIGTERM');
      await run.exited;
      redis.kill('SIGKILL');
    }
    const lines = run
      .output()
      .split('\n')
      .filter((line) => line !== '');
    for (const line of lines) expect(() => JSON.parse(line) as unknown, line).not.toThrow();
    const messages = lines.map((line) => String((JSON.parse(line) as { msg?: unknown }).msg));
    expect(messages.filter((message) => message.includes('Redis is unreachable'))).toHaveLength(1);
    expect(messages.filter((message) => message.includes('Redis is back'))).toHaveLength(1);
  });
});

/** A PostgreSQL database holding one published article and `count` active subscribers. */
async function sendingSetUp(count: number, prefix: string) {
  const database = await createPostgresDatabase();
  const client = await DatabaseClient.open({ url: database.url, dataDir: cleanFolder() });
  await client.migrate();
  const [article] = await client.db
    .insert(articles)
    .values({
      slug: 'tuer',
      title: 'Tuer',
      bodyMd: 'x',
      bodyHtml: '<p>x</p>',
      status: 'published',
      publishedAt: new Date(),
    })
    .returning();
  const emails = Array.from({ length: count }, (_, n) => `${prefix}${n}@exemple.fr`);
  for (let i = 0; i < emails.length; i += 1000) {
    await client.db.insert(subscribers).values(
      emails.slice(i, i + 1000).map((email) => ({
        email,
        status: 'active' as const,
        consentSource: 'import' as const,
        consentWording: 't',
      })),
    );
  }
  const scheduleEdition = async () => {
    const [edition] = await client.db
      .insert(editions)
      .values({
        subject: 'Édition',
        articleIds: [article!.id],
        status: 'scheduled',
        scheduledAt: new Date(),
      })
      .returning();
    return edition!;
  };
  const edition = async (id: string) => {
    const [row] = await client.db.select().from(editions).where(eq(editions.id, id));
    return row!;
  };
  const close = async () => {
    await client.close();
    await database.drop();
  };
  return { url: database.url, emails, scheduleEdition, edition, close };
}

/** Every recipient got at least one message; duplicates are few and keep their Message-ID. */
function expectEveryoneOnce(
  emails: readonly string[],
  messages: readonly ReceivedMail[],
  maxDuplicated: number,
) {
  const byRecipient = new Map<string, string[]>();
  for (const mail of messages) {
    const to = mail.envelopeTo[0]!;
    byRecipient.set(to, [...(byRecipient.get(to) ?? []), mail.parsed.messageId ?? '']);
  }
  for (const email of emails) expect(byRecipient.get(email)?.length ?? 0, email).toBeGreaterThanOrEqual(1);
  const duplicated = [...byRecipient.values()].filter((ids) => ids.length > 1);
  for (const ids of duplicated) expect(new Set(ids).size).toBe(1);
  expect(duplicated.length).toBeLessThanOrEqual(maxDuplicated);
}

describe('a worker killed with SIGKILL in the middle of a send', () => {
  it('loses nobody once restarted; a duplicate keeps its Message-ID and stays within the rows a worker holds in flight', async () => {
    const setUp = await sendingSetUp(5000, 'kill');
    const sink = await startSmtpSink({ delayMs: 1 });
    const env = {
      DATABASE_URL: setUp.url,
      REDIS_URL,
      QUEUE_PREFIX: `kill-${Date.now()}`,
      SMTP_URL: sink.url,
      ROLE: 'worker',
      TICK_INTERVAL_MS: '200',
      // Long enough that a busy machine still renews a live worker's leases in time.
      DELIVERY_LEASE_SECONDS: '10',
      SECRET_KEY: 'k'.repeat(40),
      LOG_LEVEL: 'warn',
    };
    let worker: NodeRun | undefined;
    try {
      const edition = await setUp.scheduleEdition();
      worker = runService(cleanFolder(), env);
      await waitFor('a fifth of the messages', () => sink.messages.length >= 1000);
      worker.child.kill('SIGKILL');
      await worker.exited;
      expect(sink.messages.length).toBeLessThan(5000);

      worker = runService(cleanFolder(), env);
      await waitFor('the edition to finish', async () => (await setUp.edition(edition.id)).status === 'sent');
      expectEveryoneOnce(setUp.emails, sink.messages, ROWS_IN_FLIGHT - 1);
      expect(await setUp.edition(edition.id)).toMatchObject({ total: 5000, sent: 5000, failed: 0 });
    } finally {
      worker?.child.kill('SIGTERM');
      await worker?.exited;
      await sink.close();
      await setUp.close();
    }
  });

  it('has its rows sent by the worker that lives on, within seconds and without a restart', async () => {
    const setUp = await sendingSetUp(5000, 'survivor');
    const sink = await startSmtpSink({ delayMs: 1 });
    // The default lease: the survivor must not wait for the whole edition to stall.
    const env = {
      DATABASE_URL: setUp.url,
      REDIS_URL,
      QUEUE_PREFIX: `survivor-${Date.now()}`,
      SMTP_URL: sink.url,
      ROLE: 'worker',
      TICK_INTERVAL_MS: '200',
      SECRET_KEY: 'k'.repeat(40),
      LOG_LEVEL: 'warn',
    };
    const doomed = runService(cleanFolder(), env);
    const survivor = runService(cleanFolder(), env);
    try {
      const edition = await setUp.scheduleEdition();
      await waitFor('a fifth of the messages', () => sink.messages.length >= 1000);
      doomed.child.kill('SIGKILL');
      await doomed.exited;
      expect(sink.messages.length).toBeLessThan(5000);
      await waitFor('the edition to finish', async () => (await setUp.edition(edition.id)).status === 'sent');
      // One chunk at most was in the dead worker's hands; the one it claimed ahead was never sent.
      expectEveryoneOnce(setUp.emails, sink.messages, ROWS_IN_FLIGHT);
      expect(await setUp.edition(edition.id)).toMatchObject({ total: 5000, sent: 5000, failed: 0 });
    } finally {
      survivor.child.kill('SIGTERM');
      await survivor.exited;
      await sink.close();
      await setUp.close();
    }
  });
});

describe('ROLE=inbound', () => {
  it('runs the inbound mail listener alone, takes a bounce into the shared database, and stops on SIGTERM', async () => {
    const setUp = await sendingSetUp(2, 'inbound');
    const port = await freePort();
    const client = await DatabaseClient.open({ url: setUp.url, dataDir: cleanFolder() });
    const run = runService(cleanFolder(), {
      ROLE: 'inbound',
      DATABASE_URL: setUp.url,
      REDIS_URL,
      QUEUE_PREFIX: `inbound-${port}`,
      INBOUND_SMTP_PORT: String(port),
      INBOUND_SMTP_HOST: '127.0.0.1',
      VERP_ADDRESS: 'retours@blog.example.test',
      SECRET_KEY: 'k'.repeat(40),
    });
    try {
      await waitFor('the listener to start', () => run.output().includes('Dépêche inbound mail started'));
      expect(run.output()).toContain(`Inbound   SMTP on 127.0.0.1:${port} for retours@blog.example.test`);
      const [subscriber] = await client.db
        .select()
        .from(subscribers)
        .where(eq(subscribers.email, setUp.emails[0]!));
      const verp = `retours+${subscriber!.id}@blog.example.test`;
      const raw = fromCorpus('postfix-user-unknown.eml', {
        VERP: verp,
        RECIPIENT: subscriber!.email,
        MESSAGE_ID: '<elsewhere@example.org>',
      });
      const info = await sendInbound(port, verp, raw);
      expect(info.response).toMatch(/^250/);
      const [after] = await client.db.select().from(subscribers).where(eq(subscribers.id, subscriber!.id));
      expect(after!.status).toBe('bounced');
      run.child.kill('SIGTERM');
      expect(await run.exited).toBe(0);
    } finally {
      run.child.kill('SIGKILL');
      await client.close();
      await setUp.close();
    }
  });
});
