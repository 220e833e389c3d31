import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import autocannon from 'autocannon';
import { simpleParser } from 'mailparser';
import { CANARY_MARK, sampleArticle } from '../../test/fixtures/sample-article.js';
import pg from 'pg';
import type { AppConfig } from '../../src/config/app-config.js';
import { SubscriberTokens } from '../../src/mail/subscriber-tokens.js';
import { linkIdOf } from '../../src/mail/tracked-links.js';
import { api } from './delivery-bench.js';
import {
  forgetDeployment,
  median,
  NPM_START_NODE_ARGS,
  startListeningScript,
  startService,
  startWorker,
} from './service.js';

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
  /** For the member's page: the same bytes after the page's own I/O alone (see ioFloorServer). */
  readonly io_floor?: LoadResult;
  /** The median of each run's floor/bare: the most a page doing this I/O could reach. */
  readonly io_floor_over_bare?: number;
  /** The median of each run's service/floor: the share of that the service keeps. */
  readonly service_over_io_floor?: number;
}

export interface PageResult {
  readonly path: string;
  readonly connections: number;
  readonly seconds: number;
  readonly runs: number;
  /** A stranger's page: served from the page cache. */
  readonly anonymous: PageLoad;
  /** The same with the page cache off: made from the database at every request. */
  readonly anonymous_uncached: PageLoad;
  /** A signed-in premium member's page: the full text, rendered for them on every request. */
  readonly premium_member: PageLoad;
  /**
   * The sign-in form for a stranger: rendered at every request like the member's page, with no
   * query at all: the ceiling of a rendered page here, whatever the database does.
   */
  readonly sign_in_form: PageLoad;
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

/** A baseline server process of bench/lib (`script`), listening once it says so. */
async function baselineServer(
  script: string,
  args: readonly string[],
): Promise<{ url: string; child: ChildProcess }> {
  const { port, child } = await startListeningScript(script, args);
  return { url: `http://127.0.0.1:${port}/`, child };
}

/** Starts a baseline server sending `page` (written to a file for it). */
type Baseline = (page: string) => Promise<{ url: string; child: ChildProcess }>;

/** A bare Node http server sending these bytes (or this redirect), in its own process. */
function bareServer(location?: string): Baseline {
  return (page) =>
    baselineServer('bare-server-process.ts', [page, ...(location === undefined ? [] : [location])]);
}

/**
 * The member's page with the service's I/O and nothing else (io-floor-server-process.ts): their
 * session read from Redis, the page's statement run against the same database, these bytes sent.
 */
function ioFloorServer(env: Record<string, string>, cookie: string, slug: string): Baseline {
  const token = cookie.slice(cookie.indexOf('=') + 1);
  return (page) =>
    baselineServer('io-floor-server-process.ts', [
      page,
      env.DATABASE_URL ?? '',
      env.REDIS_URL ?? '',
      `${env.QUEUE_PREFIX ?? 'depeche'}:member-session`,
      token,
      slug,
    ]);
}

/**
 * Signs a premium member in the way a reader does: the sign-in form, the link from the email a
 * worker writes to its outbox, the link's button. Returns their Cookie header.
 */
async function memberCookie(
  serviceUrl: string,
  publicUrl: string,
  email: string,
  outbox: string,
): Promise<string> {
  const asked = await fetch(`${serviceUrl}/sign-in`, {
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
  const used = await fetch(`${serviceUrl}${link}`, {
    method: 'POST',
    headers: { origin: publicUrl },
    redirect: 'manual',
  });
  const cookie = used.headers.getSetCookie().find((value) => value.startsWith('depeche_member='));
  if (used.status !== 303 || !cookie) throw new Error(`The sign-in link answered ${used.status}`);
  return cookie.split(';')[0] ?? '';
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

/** Loads pages of a running service, each against a bare server sending the same bytes. */
class PageLoads {
  private readonly bares: ChildProcess[] = [];

  constructor(
    private readonly dir: string,
    readonly connections: number,
    readonly seconds: number,
    readonly runs: number,
  ) {}

  /**
   * One page under load, service and bare back to back in each run (and the I/O floor, when one is
   * given, after them). `fullText` says whether the page must hold the text after the cut;
   * undefined for a redirect, checked by `expect`.
   */
  async measure(
    name: string,
    url: string,
    headers: Record<string, string>,
    fullText: boolean | undefined,
    options: { readonly redirectTo?: string; readonly floor?: Baseline } = {},
  ): Promise<PageLoad> {
    const response = await fetch(url, { headers, redirect: 'manual' });
    const page = Buffer.from(await response.arrayBuffer());
    const location = response.headers.get('location') ?? undefined;
    if (fullText === undefined) {
      if (response.status !== 302 || location !== options.redirectTo)
        throw new Error(`The ${name} redirect answered ${response.status} to ${location ?? 'nowhere'}`);
    } else {
      if (page.includes(CANARY_MARK) !== fullText)
        throw new Error(`The ${name} page ${fullText ? 'lacks' : 'holds'} the text after the cut`);
      if (response.status !== 200) throw new Error(`The ${name} page answered ${response.status}`);
    }
    const file = path.join(this.dir, `${name}.html`);
    writeFileSync(file, page);
    const start = async (baseline: Baseline): Promise<string> => {
      const server = await baseline(file);
      this.bares.push(server.child);
      const answer = await fetch(server.url, { redirect: 'manual' });
      if (answer.status !== response.status)
        throw new Error(`The ${name} baseline answered ${answer.status}`);
      return server.url;
    };
    const bareUrl = await start(bareServer(location));
    const floorUrl = options.floor && (await start(options.floor));
    // A short warm-up of each, then the measured runs, back to back.
    await load(url, this.connections, 1, headers);
    await load(bareUrl, this.connections, 1);
    if (floorUrl) await load(floorUrl, this.connections, 1);
    const runs: { service: LoadResult; bare: LoadResult; floor?: LoadResult }[] = [];
    for (let run = 0; run < this.runs; run += 1) {
      runs.push({
        service: await load(url, this.connections, this.seconds, headers),
        bare: await load(bareUrl, this.connections, this.seconds),
        ...(floorUrl ? { floor: await load(floorUrl, this.connections, this.seconds) } : {}),
      });
    }
    type Run = (typeof runs)[number];
    const medianOf = (pick: (run: Run) => LoadResult): LoadResult => ({
      requests_per_second: median(runs.map((run) => pick(run).requests_per_second)),
      p99_ms: median(runs.map((run) => pick(run).p99_ms)),
      errors: runs.reduce((sum, run) => sum + pick(run).errors, 0),
    });
    const ratio = (over: (run: Run) => LoadResult, under: (run: Run) => LoadResult): number =>
      Number(
        median(runs.map((run) => over(run).requests_per_second / under(run).requests_per_second)).toFixed(3),
      );
    const floor = (run: Run): LoadResult => run.floor ?? run.bare;
    return {
      page_bytes: page.length,
      service: medianOf((run) => run.service),
      bare: medianOf((run) => run.bare),
      service_over_bare: ratio(
        (run) => run.service,
        (run) => run.bare,
      ),
      ...(floorUrl
        ? {
            io_floor: medianOf(floor),
            io_floor_over_bare: ratio(floor, (run) => run.bare),
            service_over_io_floor: ratio((run) => run.service, floor),
          }
        : {}),
    };
  }

  stop(): void {
    for (const child of this.bares) child.kill('SIGTERM');
  }
}

const CONNECTIONS = 10;

/**
 * The article page under load (autocannon, from this process), for a stranger (the page cache
 * serves it, and again with the cache off), for a signed-in premium member (rendered for them
 * each time, never cached), a click, the front page and a search, each against a bare Node http
 * server sending the same bytes in its own process.
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
  const profile = cpuProfileDir ? ['--cpu-prof', `--cpu-prof-dir=${cpuProfileDir}`] : [];
  const service = await startService({ ...env, ROLE: 'api' }, profile);
  // The same deployment with its page cache off: what a stranger's page costs to make.
  const uncached = await startService({ ...env, ROLE: 'api', PAGE_CACHE_SECONDS: '0' });
  const dir = mkdtempSync(path.join(tmpdir(), 'depeche-page-'));
  const pages = new PageLoads(dir, CONNECTIONS, seconds, runs);
  const pagePath = `/articles/${slug}`;
  try {
    const worker = await startWorker({ ...env, DATA_DIR: dir });
    const cookie = await memberCookie(
      service.url,
      env.PUBLIC_URL ?? '',
      premiumEmail,
      path.join(dir, 'outbox'),
    ).finally(() => worker.stop());
    const click = await clickLink(env, editionId, premiumEmail);
    return {
      path: pagePath,
      connections: CONNECTIONS,
      seconds,
      runs,
      anonymous: await pages.measure('anonymous', `${service.url}${pagePath}`, {}, false),
      anonymous_uncached: await pages.measure('anonymous-uncached', `${uncached.url}${pagePath}`, {}, false),
      premium_member: await pages.measure('premium-member', `${service.url}${pagePath}`, { cookie }, true, {
        floor: ioFloorServer(env, cookie, slug),
      }),
      sign_in_form: await pages.measure('sign-in', `${service.url}/sign-in`, {}, false),
      click_redirect: await pages.measure('click', `${service.url}${click.path}`, {}, undefined, {
        redirectTo: click.target,
      }),
      home: await pages.measure('home', `${service.url}/`, {}, false),
      search: await pages.measure('search', `${service.url}/search?q=qaryatayn`, {}, false),
    };
  } finally {
    pages.stop();
    await uncached.stop();
    await service.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

export interface EmbeddedPageResult {
  readonly path: string;
  readonly connections: number;
  readonly seconds: number;
  readonly runs: number;
  /** A stranger's page with the page cache off: rendered from the embedded database every time. */
  readonly anonymous_uncached: PageLoad;
  /** A premium member's page as `npm start` serves it (its page cache on): rendered every time. */
  readonly premium_member: PageLoad;
}

/**
 * The same pages from `npm start`'s default: one process (ROLE=all) on the embedded PGlite
 * database. A stranger's page with the page cache off, so that it is made every time; then, the
 * same data folder opened again as `npm start` runs (its page cache on), a premium member's page,
 * which is made for them at every request as on PostgreSQL. One process at a time: the embedded
 * database is a single process's.
 */
export async function embeddedPageBench(
  seconds: number,
  runs: number,
  cpuProfileDir?: string,
): Promise<EmbeddedPageResult> {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'depeche-embedded-'));
  const dir = mkdtempSync(path.join(tmpdir(), 'depeche-page-'));
  const publicUrl = 'https://blog.example.test';
  const env = {
    DATA_DIR: dataDir,
    PUBLIC_URL: publicUrl,
    REDIS_URL: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
    SECRET_KEY: randomBytes(32).toString('base64url'),
    // The member's session outlives the restart: the same deployment's Redis keys.
    QUEUE_PREFIX: `bench-${randomBytes(4).toString('hex')}`,
  };
  // As npm start runs it: its V8 flags, and a profile when asked for.
  const nodeArgs = [
    ...NPM_START_NODE_ARGS,
    ...(cpuProfileDir ? ['--cpu-prof', `--cpu-prof-dir=${cpuProfileDir}`] : []),
  ];
  const pages = new PageLoads(dir, CONNECTIONS, seconds, runs);
  let service = await startService({ ...env, PAGE_CACHE_SECONDS: '0' }, nodeArgs);
  try {
    const article = (await api(service, 'POST', '/api/articles', sampleArticle({ access: 'premium' }))) as {
      id: string;
      slug: string;
    };
    await api(service, 'POST', `/api/articles/${article.id}/publish`);
    const email = 'lectrice.premium@exemple.fr';
    await api(service, 'POST', '/api/subscribers', { email, tier: 'premium', confirmed: true });
    const cookie = await memberCookie(service.url, publicUrl, email, path.join(dataDir, 'outbox'));
    const pagePath = `/articles/${article.slug}`;
    const anonymous = await pages.measure('embedded-anonymous', `${service.url}${pagePath}`, {}, false);
    await service.stop();
    service = await startService(env, nodeArgs);
    return {
      path: pagePath,
      connections: CONNECTIONS,
      seconds,
      runs,
      anonymous_uncached: anonymous,
      premium_member: await pages.measure('embedded-member', `${service.url}${pagePath}`, { cookie }, true),
    };
  } finally {
    pages.stop();
    await service.stop();
    await forgetDeployment(env.QUEUE_PREFIX);
    rmSync(dir, { recursive: true, force: true });
    rmSync(dataDir, { recursive: true, force: true });
  }
}
