import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { convert } from 'html-to-text';
import { Redis } from 'ioredis';
import nodemailer from 'nodemailer';
import pg from 'pg';
import { formatAddress, PreparedMessage } from '../../src/mail/prepared-message.js';
import { sampleArticle } from '../../test/fixtures/sample-article.js';
import { createPostgresDatabase, type TestDatabase } from '../../test/helpers/test-database.js';
import { cpuMeter } from './cpu-time.js';
import {
  BENCH_TOKEN,
  forgetDeployment,
  ROOT,
  type RunningService,
  startListeningScript,
  startService,
  startWorker,
} from './service.js';
import { postfixSourcePath, postfixTools, startSink } from './sink.js';

export const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const SUBJECT = "Syrie\u00a0: Daech s'empare d'Al-Qaryatayn — « la lettre » du dimanche";
const SECRET_KEY = randomBytes(32).toString('base64url');
const PUBLIC_URL = 'https://blog.example.test';

/** One edition's worth of content, as the service renders it, for the baselines to send. */
export interface EditionContent {
  readonly html: Record<'free' | 'premium', string>;
  readonly text: Record<'free' | 'premium', string>;
}

export interface ServiceResult {
  readonly recipients: number;
  readonly workers: number;
  readonly sink: string;
  readonly seconds: number;
  readonly messages_per_second: number;
  readonly first_message_seconds: number;
  readonly prepare_seconds: number;
  readonly sink_messages: number;
  readonly exactly_n: boolean;
  readonly peak_rss_mb: { readonly api: number; readonly workers: readonly number[] };
  readonly redis_used_memory_mb: { readonly before: number; readonly after: number };
  readonly message_bytes: Record<'free' | 'premium', number>;
  /**
   * CPU seconds per 1,000 messages from the scheduled time to the last message: the workers
   * together, PostgreSQL (all its processes) and Redis. What one core of each can carry follows.
   */
  readonly cpu_seconds_per_1000: {
    readonly workers: number;
    readonly postgres: number;
    readonly redis: number;
  };
}

export interface BaselineResult {
  readonly seconds: number;
  readonly messages_per_second: number;
}

export async function api(
  service: RunningService,
  method: string,
  url: string,
  body?: unknown,
): Promise<unknown> {
  const res = await fetch(`${service.url}${url}`, {
    method,
    headers: {
      authorization: `Bearer ${BENCH_TOKEN}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  if (!res.ok) throw new Error(`${method} ${url}: ${res.status} ${await res.text()}`);
  return res.headers.get('content-type')?.includes('json') ? res.json() : res.text();
}

async function usedMemoryMb(redis: Redis): Promise<number> {
  const info = await redis.info('memory');
  return Number(/^used_memory:(\d+)/m.exec(info)?.[1] ?? 0) / 1024 / 1024;
}

const mb = (bytes: number): number => Math.round(bytes / 1024 / 1024);

/** A fresh database with `n` active subscribers (half free, half premium) and a published edition. */
export async function seedEdition(n: number): Promise<{
  database: TestDatabase;
  api: RunningService;
  editionId: string;
  articleSlug: string;
  /** A premium subscriber's address. */
  premiumEmail: string;
  content: EditionContent;
  env: Record<string, string>;
  /** Stops the API process, drops the database and deletes the deployment's Redis keys. */
  close(): Promise<void>;
}> {
  const database = await createPostgresDatabase();
  const env = {
    DATABASE_URL: database.url,
    REDIS_URL,
    QUEUE_PREFIX: `bench-${randomBytes(4).toString('hex')}`,
    SECRET_KEY,
    PUBLIC_URL,
    PUBLICATION_NAME: 'Le Blog de Dépêche',
  };
  const service = await startService({ ...env, ROLE: 'api' });
  const client = new pg.Client({ connectionString: database.url });
  await client.connect();
  try {
    await client.query(
      `insert into subscribers (email, name, tier, comped, status, consent_source, consent_wording, confirmed_at)
       select 'lecteur' || n || '@exemple.fr', 'Lecteur ' || n, case when n % 2 = 0 then 'free' else 'premium' end,
              n % 2 = 1, 'active', 'import', 'bench', now()
       from generate_series(1, $1::int) as n`,
      [n],
    );
    await client.query('analyze subscribers');
  } finally {
    await client.end();
  }
  // Three analysis pieces of the sample's kind: about 30 KB of HTML in the premium email.
  const ids: string[] = [];
  let articleSlug = '';
  for (const part of ['', ' (suite)', ' (fin)']) {
    const article = (await api(service, 'POST', '/api/articles', {
      ...sampleArticle({ access: 'premium' }),
      title: `${String(sampleArticle().title)}${part}`,
    })) as { id: string; slug: string };
    await api(service, 'POST', `/api/articles/${article.id}/publish`);
    ids.push(article.id);
    articleSlug ||= article.slug;
  }
  const edition = (await api(service, 'POST', '/api/editions', {
    subject: SUBJECT,
    preheader: 'La lettre de la semaine',
    article_ids: ids,
  })) as { id: string };
  const html = {
    free: (await api(service, 'GET', `/api/editions/${edition.id}/preview?tier=free`)) as string,
    premium: (await api(service, 'GET', `/api/editions/${edition.id}/preview?tier=premium`)) as string,
  };
  const text = {
    free: convert(html.free, { wordwrap: 78 }),
    premium: convert(html.premium, { wordwrap: 78 }),
  };
  return {
    database,
    api: service,
    editionId: edition.id,
    articleSlug,
    premiumEmail: 'lecteur1@exemple.fr',
    content: { html, text },
    env,
    async close() {
      await service.stop();
      await database.drop();
      await forgetDeployment(env.QUEUE_PREFIX);
    },
  };
}

/**
 * The service end to end: `workers` worker processes and the API process, the edition scheduled
 * two seconds ahead, timed from its scheduled time to the sink's n-th message.
 */
export async function serviceBench(
  seeded: Awaited<ReturnType<typeof seedEdition>>,
  n: number,
  workerCount: number,
  settings: Record<string, string> = {},
  cpuProfileDir?: string,
  relayRoundTripMs = 0,
): Promise<ServiceResult> {
  const sink = await startSink();
  const relay = relayRoundTripMs > 0 ? await delayProxy(sink.port, relayRoundTripMs) : undefined;
  const redis = new Redis(REDIS_URL);
  const workers = [];
  try {
    for (let i = 0; i < workerCount; i += 1) {
      workers.push(
        await startWorker(
          { ...seeded.env, ...settings, SMTP_URL: `smtp://127.0.0.1:${relay?.port ?? sink.port}` },
          cpuProfileDir ? ['--cpu-prof', `--cpu-prof-dir=${cpuProfileDir}`] : [],
        ),
      );
    }
    const redisBefore = await usedMemoryMb(redis);
    const cpu = cpuMeter({
      workers: { pids: workers.flatMap((w) => (w.child.pid === undefined ? [] : [w.child.pid])) },
      postgres: { commands: ['postgres'] },
      redis: { commands: ['redis-server'] },
    });
    const delivered = sink.waitFor(n, 120_000 + n * 5);
    const sendAt = new Date(Date.now() + 2000);
    const scheduledAt = performance.now() + (sendAt.getTime() - Date.now());
    await api(seeded.api, 'POST', `/api/editions/${seeded.editionId}/schedule`, {
      send_at: sendAt.toISOString(),
    });
    const lastAt = await delivered;
    const used = cpu.read();
    const edition = await waitForStatus(seeded.api, seeded.editionId);
    await sleep(1000); // anything past n would arrive now
    const result: ServiceResult = {
      recipients: n,
      workers: workerCount,
      sink: sink.kind,
      seconds: round((lastAt - scheduledAt) / 1000),
      messages_per_second: Math.round(n / ((lastAt - scheduledAt) / 1000)),
      first_message_seconds: round(((sink.firstAt() ?? lastAt) - scheduledAt) / 1000),
      prepare_seconds: round(
        (Date.parse(edition.prepared_at ?? '') - Date.parse(edition.started_at ?? '')) / 1000,
      ),
      sink_messages: sink.count(),
      exactly_n: sink.count() === n && edition.counts.sent === n,
      peak_rss_mb: { api: mb(seeded.api.peakRss()), workers: workers.map((w) => mb(w.peakRss())) },
      redis_used_memory_mb: { before: round(redisBefore), after: round(await usedMemoryMb(redis)) },
      cpu_seconds_per_1000: {
        workers: round((used.workers ?? 0) / (n / 1000)),
        postgres: round((used.postgres ?? 0) / (n / 1000)),
        redis: round((used.redis ?? 0) / (n / 1000)),
      },
      message_bytes: {
        free: Buffer.byteLength(seeded.content.html.free) + Buffer.byteLength(seeded.content.text.free),
        premium:
          Buffer.byteLength(seeded.content.html.premium) + Buffer.byteLength(seeded.content.text.premium),
      },
    };
    return result;
  } finally {
    await Promise.all(workers.map((w) => w.stop()));
    relay?.child.kill('SIGTERM');
    await sink.stop();
    redis.disconnect();
  }
}

/** The sink behind a proxy that delays everything by this round trip (delay-proxy-process.ts). */
function delayProxy(sinkPort: number, roundTripMs: number): Promise<{ port: number; child: ChildProcess }> {
  return startListeningScript('delay-proxy-process.ts', [String(sinkPort), String(roundTripMs)]);
}

interface EditionStatus {
  status: string;
  started_at: string | null;
  prepared_at: string | null;
  counts: { sent: number };
}

async function waitForStatus(service: RunningService, id: string): Promise<EditionStatus> {
  for (;;) {
    const edition = (await api(service, 'GET', `/api/editions/${id}`)) as EditionStatus;
    if (['sent', 'failed', 'cancelled'].includes(edition.status)) return edition;
    await sleep(100);
  }
}

const round = (value: number): number => Number(value.toFixed(3));

function headersFor(n: number, tier: 'free' | 'premium'): Record<string, string> {
  return {
    'List-Id': '<newsletter.blog.example.test>',
    'List-Unsubscribe': `<${PUBLIC_URL}/unsubscribe/${n}>, <mailto:newsletter@blog.example.test?subject=unsubscribe%20${n}>`,
    'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click',
    'Feedback-ID': `edition:${tier}:depeche:blog.example.test`,
    Precedence: 'bulk',
  };
}

const tierOf = (n: number): 'free' | 'premium' => (n % 2 === 0 ? 'free' : 'premium');

/**
 * Naive: nodemailer's pooled transport (as many connections as the service's workers open in all)
 * and one sendMail per recipient with the same HTML, text and headers, composed each time.
 */
export async function naiveBench(
  content: EditionContent,
  n: number,
  sessions: number,
): Promise<BaselineResult> {
  const sink = await startSink();
  const transport = nodemailer.createTransport({
    host: '127.0.0.1',
    port: sink.port,
    pool: true,
    maxConnections: sessions,
    maxMessages: Infinity,
  });
  try {
    const finished = sink.waitFor(n, 600_000);
    const started = performance.now();
    let next = 1;
    const lane = async (): Promise<void> => {
      for (let i = next++; i <= n; i = next++) {
        const tier = tierOf(i);
        await transport.sendMail({
          from: '"Le Blog de Dépêche" <newsletter@blog.example.test>',
          to: `"Lecteur ${i}" <lecteur${i}@exemple.fr>`,
          subject: SUBJECT,
          html: content.html[tier],
          text: content.text[tier],
          headers: headersFor(i, tier),
          messageId: `<bench.${i}@blog.example.test>`,
        });
      }
    };
    // Enough sends in flight to keep every pooled connection busy.
    await Promise.all(Array.from({ length: sessions * 4 }, lane));
    const lastAt = await finished;
    return speed(n, lastAt - started);
  } finally {
    transport.close();
    await sink.stop();
  }
}

function speed(n: number, ms: number): BaselineResult {
  return { seconds: round(ms / 1000), messages_per_second: Math.round(n / (ms / 1000)) };
}

/**
 * One copy of the tier's email as the service composes it for this sink, which announces
 * 8BITMIME: its own PreparedMessage, in 8bit, laid out as DATA carries it. The service's own
 * copies hold tracked links besides, so they are a little larger than this.
 */
function composed(content: EditionContent, tier: 'free' | 'premium'): Buffer {
  const token = `${randomBytes(16).toString('base64url')}.${randomBytes(32).toString('hex')}`;
  return new PreparedMessage({
    from: formatAddress('Le Blog de Dépêche', 'newsletter@blog.example.test'),
    subject: SUBJECT,
    html: content.html[tier],
    text: content.text[tier],
    listId: 'newsletter.blog.example.test',
    feedbackId: `edition:${tier}:depeche:blog.example.test`,
  }).forRecipient(
    {
      email: 'lecteur1@exemple.fr',
      name: 'Lecteur 1',
      messageId: '<bench.1@blog.example.test>',
      unsubscribeUrl: `${PUBLIC_URL}/unsubscribe/${token}`,
      unsubscribeMailto: `mailto:newsletter@blog.example.test?subject=unsubscribe%20${token}`,
      preferencesUrl: `${PUBLIC_URL}/preferences/${token}`,
      webVersionUrl: `${PUBLIC_URL}/editions/bench/${token}`,
      readerQuery: '',
      clickUrl: () => PUBLIC_URL,
    },
    new Date(),
    '8bit',
  );
}

/**
 * Raw: the same kind of bytes (see `composed`) pushed as fast as this machine can, over as many
 * sessions: Postfix's smtp-source when installed, else a raw-socket blaster with pipelining. Half
 * the messages are the free email and half the premium one, as in the service's run.
 */
export async function rawBench(
  content: EditionContent,
  n: number,
  sessions: number,
): Promise<BaselineResult & { tool: string }> {
  const dir = mkdtempSync(path.join(tmpdir(), 'depeche-raw-'));
  const sink = await startSink();
  try {
    const files = { free: path.join(dir, 'free.eml'), premium: path.join(dir, 'premium.eml') };
    const postfix = postfixTools();
    for (const tier of ['free', 'premium'] as const) {
      // The message's own lines, their dots single: both senders double leading dots themselves.
      const message = composed(content, tier)
        .toString('latin1')
        .replace(/\r\n\.\./g, '\r\n.');
      // smtp-source appends CRLF to each line it reads: give it plain LF lines.
      writeFileSync(files[tier], postfix ? message.replace(/\r\n/g, '\n') : message, 'latin1');
    }
    const half = Math.ceil(n / 2);
    const perTier = Math.max(1, Math.floor(sessions / 2));
    const finished = sink.waitFor(n, 600_000);
    const started = performance.now();
    const runs = (['free', 'premium'] as const).map((tier, i) => {
      const count = i === 0 ? half : n - half;
      const child = postfix
        ? spawn(
            postfixSourcePath(),
            [
              '-d',
              '-s',
              String(perTier),
              '-m',
              String(count),
              '-F',
              files[tier],
              '-f',
              'newsletter@blog.example.test',
              '-t',
              'lecteur@exemple.fr',
              `127.0.0.1:${sink.port}`,
            ],
            { stdio: 'ignore' },
          )
        : spawn(
            process.execPath,
            [
              '--import',
              'tsx',
              path.join(ROOT, 'bench', 'lib', 'blaster-process.ts'),
              String(sink.port),
              String(perTier),
              String(count),
              files[tier],
            ],
            { cwd: ROOT, stdio: ['ignore', 'ignore', 'inherit'] },
          );
      return new Promise<void>((resolve, reject) => {
        child.once('exit', (code) => {
          if (code === 0) resolve();
          else reject(new Error(`The raw sender exited with ${code}`));
        });
      });
    });
    await Promise.all(runs);
    const lastAt = await finished;
    return { ...speed(n, lastAt - started), tool: postfix ? 'postfix smtp-source' : 'raw-socket blaster' };
  } finally {
    await sink.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
