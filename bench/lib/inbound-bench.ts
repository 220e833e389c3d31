import { type ChildProcessByStdio, spawn } from 'node:child_process';
import type { Readable } from 'node:stream';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import nodemailer from 'nodemailer';
import pg from 'pg';
import { DatabaseClient } from '../../src/database/database-client.js';
import { freePort } from '../../test/helpers/net.js';
import { createPostgresDatabase } from '../../test/helpers/test-database.js';
import { TEST_REDIS_URL } from '../../test/helpers/services.js';
import { median, ROOT, startInbound } from './service.js';

const VERP = 'retours@blog.example.test';
/** SMTP sessions the sending side keeps open, as a relay returning bounces in bulk would. */
const SESSIONS = 10;

export interface InboundResult {
  readonly messages: number;
  readonly sessions: number;
  /** Medians over the runs. */
  readonly service_messages_per_second: number;
  readonly bare_messages_per_second: number;
  readonly service_over_bare: number;
  /** Every message had its effect: each subscriber is bounced, with one event each. */
  readonly all_applied: boolean;
}

/** Real DSNs (Postfix's, from the test corpus), one per subscriber, to each one's VERP address. */
function bounces(subscribers: readonly { id: string; email: string }[]): { to: string; raw: string }[] {
  const template = readFileSync(
    path.join(ROOT, 'test', 'fixtures', 'inbound', 'postfix-user-unknown.eml'),
    'utf8',
  );
  return subscribers.map(({ id, email }) => {
    const to = `retours+${id}@blog.example.test`;
    const raw = template
      .replaceAll('{{VERP}}', to)
      .replaceAll('{{RECIPIENT}}', email)
      .replaceAll('{{MESSAGE_ID}}', `<${randomBytes(8).toString('hex')}@elsewhere.example>`)
      .replaceAll('{{SUBJECT}}', 'La lettre')
      .replace(/\r?\n/g, '\r\n');
    return { to, raw };
  });
}

/** Hands every message over SESSIONS pooled SMTP sessions; seconds until the last was accepted. */
async function blast(port: number, messages: readonly { to: string; raw: string }[]): Promise<number> {
  const transport = nodemailer.createTransport({
    host: '127.0.0.1',
    port,
    secure: false,
    ignoreTLS: true,
    pool: true,
    maxConnections: SESSIONS,
    maxMessages: Infinity,
  });
  const started = performance.now();
  try {
    await Promise.all(
      messages.map((m) => transport.sendMail({ envelope: { from: '', to: m.to }, raw: m.raw })),
    );
  } finally {
    transport.close();
  }
  return (performance.now() - started) / 1000;
}

/** A bare smtp-server that accepts everything and keeps nothing, in its own process. */
async function bareSink(): Promise<{ port: number; child: ChildProcessByStdio<null, Readable, null> }> {
  const port = await freePort();
  const child: ChildProcessByStdio<null, Readable, null> = spawn(
    process.execPath,
    ['--import', 'tsx', path.join(ROOT, 'bench', 'lib', 'count-sink-process.ts'), String(port)],
    { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] },
  );
  await new Promise<void>((resolve) => {
    child.stdout.once('data', () => {
      resolve();
    });
  });
  child.stdout.resume();
  return { port, child };
}

/**
 * Bounces coming back after a send: n delivery status notifications over SMTP into a ROLE=inbound
 * process, each read, tied to its subscriber and applied (the subscriber bounced, the address
 * suppressed, an event written, in batches) before the 250; against a bare smtp-server taking the
 * same messages from the same client.
 */
export async function inboundBench(n: number, runs: number): Promise<InboundResult> {
  const service: number[] = [];
  const bare: number[] = [];
  let allApplied = true;
  for (let run = 0; run < runs; run += 1) {
    const database = await createPostgresDatabase();
    const client = await DatabaseClient.open({ url: database.url, dataDir: tmpdir() });
    const port = await freePort();
    let inbound: Awaited<ReturnType<typeof startInbound>> | undefined;
    const sink = await bareSink();
    try {
      await client.migrate();
      const db = new pg.Client({ connectionString: database.url });
      await db.connect();
      const { rows } = await db.query<{ id: string; email: string }>(
        `insert into subscribers (email, status, consent_source, consent_wording)
         select 'retour' || n || '@exemple.fr', 'active', 'import', 'bench' from generate_series(1, $1::int) n
         returning id, email`,
        [n],
      );
      const messages = bounces(rows);
      inbound = await startInbound({
        DATABASE_URL: database.url,
        REDIS_URL: TEST_REDIS_URL,
        SECRET_KEY: randomBytes(32).toString('base64url'),
        VERP_ADDRESS: VERP,
        INBOUND_SMTP_PORT: String(port),
        INBOUND_SMTP_HOST: '127.0.0.1',
        INBOUND_RATE_PER_MINUTE: String(n * 10),
      });
      const seconds = await blast(port, messages);
      const bareSeconds = await blast(sink.port, messages);
      service.push(n / seconds);
      bare.push(n / bareSeconds);
      const { rows: applied } = await db.query<{ bounced: number; events: number }>(
        `select (select count(*) from subscribers where status = 'bounced')::int as bounced,
                (select count(*) from message_events where kind = 'hard-bounce')::int as events`,
      );
      const [counts] = applied;
      allApplied &&= counts !== undefined && counts.bounced === n && counts.events === n;
      await db.end();
    } finally {
      await inbound?.stop();
      sink.child.kill('SIGTERM');
      await client.close();
      await database.drop();
    }
  }
  return {
    messages: n,
    sessions: SESSIONS,
    service_messages_per_second: Math.round(median(service)),
    bare_messages_per_second: Math.round(median(bare)),
    service_over_bare: Number(median(service.map((s, i) => s / (bare[i] ?? 1))).toFixed(3)),
    all_applied: allApplied,
  };
}
