import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import autocannon from 'autocannon';
import { simpleParser } from 'mailparser';
import { CANARY_MARK } from '../../test/fixtures/sample-article.js';
import { freePort } from '../../test/helpers/net.js';
import pg from 'pg';
import type { AppConfig } from '../../src/config/app-config.js';
import { SubscriberTokens } from '../../src/mail/subscriber-tokens.js';
import { linkIdOf } from '../../src/mail/tracked-links.js';
import { median, ROOT, type RunningService, startService, startWorker } from './service.js';

export interface LoadResult {
  readonly requests_per_second: number;
  readonly p99_ms: number;
  readonly errors: number;
}

export interface PageLoad {
  readonly page_bytes: number;
  /** Medians over the runs. */
  readonly service: LoadResult;
  readonly bare: LoadResult;
  /** The median of each run's service/bare, both measured back to back. */
  readonly service_over_bare: number;
}

export interface PageResult {
  readonly path: string;
  readonly connections: number;
  readonly seconds: number;
  readonly runs: number;
  /** A stranger's page: served from the page cache. */
  readonly anonymous: PageLoad;
  /** A signed-in premium member's page: the full text, rendered for them on every request. */
  readonly premium_member: PageLoad;
  /** A reader's click on a link of an edition: the 302 of /r/<token>, against a bare 302. */
  readonly click_redirect: PageLoad;
  /** The front page for a stranger (the page cache serves it). */
  readonly home: PageLoad;
  /** A search for a stranger: full-text search in the database, rendered at every request. */
  readonly search: PageLoad;
}

async function load(
  url: string,
  connections: number,
  seconds: number,
  headers: Record<string, string> = {},
): Promise<LoadResult> {
  const result = await autocannon({ url, connections, duration: seconds, headers });
  return {
    requests_per_second: Math.round(result.requests.average),
    p99_ms: result.latency.p99,
    // A redirect is the click's answer, not an error: only other non-2xx replies count.
    errors: result.errors + result.non2xx - result['3xx'],
  };
}

/** A bare Node http server sending these bytes (or this redirect), in its own process. */
async function bareServer(
  dir: string,
  name: string,
  page: Buffer,
  location?: string,
): Promise<{ url: string; child: ChildProcess }> {
  const port = await freePort();
  const file = path.join(dir, name);
  writeFileSync(file, page);
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      path.join(ROOT, 'bench', 'lib', 'bare-server-process.ts'),
      String(port),
      file,
      ...(location === undefined ? [] : [location]),
    ],
    { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] },
  );
  await new Promise<void>((resolve) =>
    child.stdout.once('data', () => {
      resolve();
    }),
  );
  return { url: `http://127.0.0.1:${port}/`, child };
}

/**
 * Signs a premium member in the way a reader does: the sign-in form, the link from the email a
 * worker writes to its outbox, the link's button. Returns their Cookie header.
 */
async function memberCookie(
  service: RunningService,
  env: Record<string, string>,
  email: string,
  dir: string,
): Promise<string> {
  const outbox = path.join(dir, 'outbox');
  const worker = await startWorker({ ...env, DATA_DIR: dir });
  try {
    const asked = await fetch(`${service.url}/sign-in`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ email, next: '/' }).toString(),
    });
    if (!asked.ok) throw new Error(`Sign-in request answered ${asked.status}`);
    const deadline = Date.now() + 60_000;
    let file: string | undefined;
    while (!file) {
      file = (() => {
        try {
          return readdirSync(outbox).find((name) => name.endsWith('.eml'));
        } catch {
          return undefined;
        }
      })();
      if (Date.now() > deadline) throw new Error('No sign-in email in the outbox');
      if (!file) await sleep(100);
    }
    const mail = await simpleParser(readFileSync(path.join(outbox, file)));
    const link = /\/sign-in\/[A-Za-z0-9_-]{43}/.exec(mail.text ?? '')?.[0];
    if (!link) throw new Error('No sign-in link in the email');
    const used = await fetch(`${service.url}${link}`, {
      method: 'POST',
      headers: { origin: env.PUBLIC_URL ?? '' },
      redirect: 'manual',
    });
    const cookie = used.headers.getSetCookie().find((value) => value.startsWith('depeche_member='));
    if (used.status !== 303 || !cookie) throw new Error(`The sign-in link answered ${used.status}`);
    return cookie.split(';')[0] ?? '';
  } finally {
    await worker.stop();
  }
}

/**
 * A click link of the edition, as a reader's copy has it: a link of the edition saved as a worker
 * saves it, and the token signed with the service's secret for a copy sent an hour ago (a reader's
 * click, not a scanner's).
 */
async function clickLink(
  env: Record<string, string>,
  editionId: string,
  email: string,
): Promise<{ path: string; target: string }> {
  const target = 'https://www.syriahr.com/fr/rapport?id=1&lang=fr';
  const linkId = linkIdOf(target);
  const client = new pg.Client({ connectionString: env.DATABASE_URL });
  await client.connect();
  try {
    await client.query(
      'insert into edition_links (edition_id, link_id, url) values ($1, $2, $3) on conflict do nothing',
      [editionId, linkId, target],
    );
    const { rows } = await client.query<{ id: string }>('select id from subscribers where email = $1', [
      email,
    ]);
    const subscriberId = rows[0]?.id ?? '';
    const tokens = new SubscriberTokens({
      secretKey: env.SECRET_KEY ?? '',
      previousSecretKeys: [],
    } as unknown as AppConfig);
    const token = tokens.clickToken({
      editionId,
      linkId,
      subscriberId,
      sentAt: Math.floor(Date.now() / 1000) - 3600,
    });
    return { path: `/r/${token}`, target };
  } finally {
    await client.end();
  }
}

/**
 * The article page under load (autocannon, from this process), for a stranger (the page cache
 * serves it) and for a signed-in premium member (rendered for them each time, never cached), each
 * against a bare Node http server sending the same bytes in its own process.
 */
export async function pageBench(
  env: Record<string, string>,
  slug: string,
  editionId: string,
  premiumEmail: string,
  seconds: number,
  runs: number,
  cpuProfileDir?: string,
): Promise<PageResult> {
  const connections = 10;
  const service = await startService(
    { ...env, ROLE: 'api' },
    cpuProfileDir ? ['--cpu-prof', `--cpu-prof-dir=${cpuProfileDir}`] : [],
  );
  const dir = mkdtempSync(path.join(tmpdir(), 'depeche-page-'));
  const pagePath = `/articles/${slug}`;
  const bares: ChildProcess[] = [];
  try {
    const cookie = await memberCookie(service, env, premiumEmail, dir);
    const click = await clickLink(env, editionId, premiumEmail);
    const measure = async (
      name: string,
      headers: Record<string, string>,
      url = pagePath,
    ): Promise<PageLoad> => {
      const response = await fetch(`${service.url}${url}`, { headers, redirect: 'manual' });
      const page = Buffer.from(await response.arrayBuffer());
      const location = response.headers.get('location') ?? undefined;
      if (url === click.path) {
        if (response.status !== 302 || location !== click.target)
          throw new Error(`The click redirect answered ${response.status} to ${location ?? 'nowhere'}`);
      } else {
        const full = page.includes(CANARY_MARK);
        if (full !== (headers.cookie !== undefined))
          throw new Error(`The ${name} page ${full ? 'holds' : 'lacks'} the text after the cut`);
        if (response.status !== 200) throw new Error(`The ${name} page answered ${response.status}`);
      }
      const bare = await bareServer(dir, `${name}.html`, page, location);
      bares.push(bare.child);
      // A short warm-up of each, then the measured runs, service and bare back to back.
      await load(`${service.url}${url}`, connections, 1, headers);
      await load(bare.url, connections, 1);
      const pairs: { service: LoadResult; bare: LoadResult }[] = [];
      for (let run = 0; run < runs; run += 1) {
        pairs.push({
          service: await load(`${service.url}${url}`, connections, seconds, headers),
          bare: await load(bare.url, connections, seconds),
        });
      }
      const medianOf = (pick: (pair: (typeof pairs)[number]) => LoadResult): LoadResult => ({
        requests_per_second: median(pairs.map((pair) => pick(pair).requests_per_second)),
        p99_ms: median(pairs.map((pair) => pick(pair).p99_ms)),
        errors: pairs.reduce((sum, pair) => sum + pick(pair).errors, 0),
      });
      return {
        page_bytes: page.length,
        service: medianOf((pair) => pair.service),
        bare: medianOf((pair) => pair.bare),
        service_over_bare: Number(
          median(
            pairs.map((pair) => pair.service.requests_per_second / pair.bare.requests_per_second),
          ).toFixed(3),
        ),
      };
    };
    return {
      path: pagePath,
      connections,
      seconds,
      runs,
      anonymous: await measure('anonymous', {}),
      premium_member: await measure('premium-member', { cookie }),
      click_redirect: await measure('click', {}, click.path),
      home: await measure('home', {}, '/'),
      search: await measure('search', {}, '/search?q=qaryatayn'),
    };
  } finally {
    for (const child of bares) child.kill('SIGTERM');
    await service.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
