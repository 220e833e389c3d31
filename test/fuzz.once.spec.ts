import { sql } from 'drizzle-orm';
import { load } from 'cheerio';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rowsOf } from '../src/database/database-client.js';
import { SubscriberTokens } from '../src/mail/subscriber-tokens.js';
import { csrfOf, DeskClient } from './helpers/desk.js';
import { publishedArticle } from './helpers/editions.js';
import { startStripeStandIn, type StripeStandIn } from './helpers/stripe-stand-in.js';
import { PUBLIC_URL, startTestApp, TEST_TOKEN, type TestApp } from './helpers/test-app.js';

/**
 * Every route the service answers, found the way a client finds them (the OpenAPI document, the
 * forms and htmx actions of the desk's and the blog's pages), sent every kind of hostile body over
 * a real socket: nothing may answer 5xx, stop the process, keep /health from answering, or write.
 */

interface Route {
  readonly method: string;
  readonly path: string;
  readonly headers: Record<string, string>;
}

const GARBAGE_ID = '00000000-0000-4000-8000-000000000000';
const GARBAGE_TOKEN = 'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA.x';

/** Bodies no route may take, and a name for each. */
function hostileBodies(maxBodyBytes: number): { name: string; type: string; body: string }[] {
  return [
    { name: 'malformed JSON', type: 'application/json', body: '{"title": "a",' },
    { name: 'CSV', type: 'text/csv', body: 'foo,bar\n1,2\n' },
    {
      name: 'multipart',
      type: 'multipart/form-data; boundary=x',
      body: '--x\r\nContent-Disposition: form-data; name="a"\r\n\r\nb\r\n--x--\r\n',
    },
    {
      name: 'XML',
      type: 'application/xml',
      body: '<?xml version="1.0"?><!DOCTYPE a [<!ENTITY b "c">]><a>&b;</a>',
    },
    {
      name: 'deep nesting',
      type: 'application/json',
      body: `{"a":${'['.repeat(50_000)}${']'.repeat(50_000)}}`,
    },
    {
      name: 'huge string',
      type: 'application/json',
      body: JSON.stringify({ title: 'é'.repeat(maxBodyBytes) }),
    },
    {
      name: 'NUL',
      type: 'application/json',
      body: '{"title":"a\\u0000b","email":"\\u0000@x.fr","body_md":"\\u0000"}',
    },
    {
      name: 'lone surrogate',
      type: 'application/json',
      body: '{"title":"\\ud800","email":"a\\udfff@x.fr","subject":"\\ud83d"}',
    },
    {
      name: '__proto__',
      type: 'application/json',
      body: '{"__proto__":{"isAdmin":true},"constructor":{"prototype":{"x":1}}}',
    },
    { name: 'null', type: 'application/json', body: 'null' },
    {
      name: 'form with NUL',
      type: 'application/x-www-form-urlencoded',
      body: 'title=%00&email=a%00%40x.fr&_csrf=%00',
    },
    // Percent-encoded forms cannot carry a lone surrogate: invalid UTF-8 decodes to U+FFFD.
  ];
}

let t: TestApp;
let stripe: StripeStandIn;
let base: string;
const routes: Route[] = [];

async function rowCounts(): Promise<Record<string, number>> {
  const result = await t.database.db.execute(sql`
    select relname as name from pg_class c join pg_namespace n on n.oid = c.relnamespace
    where n.nspname = 'public' and c.relkind = 'r' and relname not like '__drizzle%'`);
  const counts: Record<string, number> = {};
  for (const { name } of rowsOf<{ name: string }>(result)) {
    const rows = await t.database.db.execute(sql.raw(`select count(*)::int as n from "${name}"`));
    counts[name] = rowsOf<{ n: number }>(rows)[0]!.n;
  }
  return counts;
}

/** Forms and htmx actions of a page: the routes a browser would send bodies to. */
function actionsOf(html: string): { method: string; path: string }[] {
  const $ = load(html);
  const found: { method: string; path: string }[] = [];
  $('form[action]').each((_, form) => {
    found.push({ method: ($(form).attr('method') ?? 'get').toUpperCase(), path: $(form).attr('action')! });
  });
  $('[hx-post]').each((_, element) => {
    found.push({ method: 'POST', path: $(element).attr('hx-post')! });
  });
  // The import form is sent by the desk's script, as a CSV body, with an id it chooses.
  $('form[data-import]').each((_, form) => {
    found.push({ method: 'POST', path: `${$(form).attr('data-import')!}?id=fuzz-import-1` });
  });
  return found.map((action) => ({ ...action, path: action.path.replace(PUBLIC_URL, '') }));
}

beforeAll(async () => {
  // Payments on, so that the upgrade form and Stripe's webhook are among the routes.
  stripe = await startStripeStandIn();
  t = await startTestApp(stripe.env);
  await t.app.listen({ port: 0, host: '127.0.0.1' });
  base = (await t.app.getUrl()).replace('[::1]', '127.0.0.1');

  // Something for every page to show, so that every form is there to be found.
  const article = await publishedArticle(t);
  const edition = (
    await t.api('POST', '/api/editions', { subject: 'Lettre', article_ids: [article.id] })
  ).json<{ id: string }>();
  const subscriber = (
    await t.api('POST', '/api/subscribers', { email: 'fuzz@exemple.fr', confirmed: true })
  ).json<{ id: string }>();

  // The editor API and the public routes it documents, with unknown ids.
  const openapi = (await t.request({ method: 'GET', url: '/docs/openapi.json' })).json<{
    paths: Record<string, Record<string, unknown>>;
  }>();
  for (const [template, operations] of Object.entries(openapi.paths)) {
    for (const method of Object.keys(operations)) {
      if (method === 'get' || method === 'head') continue;
      routes.push({
        method: method.toUpperCase(),
        path: template.replace(/\{[^}]+\}/g, GARBAGE_ID),
        headers: { authorization: `Bearer ${TEST_TOKEN}` },
      });
    }
  }

  // The desk, crawled from its dashboard as an editor would click through it.
  const desk = new DeskClient(t);
  await desk.setUp();
  await desk.signIn();
  const seen = new Set<string>();
  const queue = ['/admin', `/admin/articles/${article.id}`, `/admin/editions/${edition.id}`];
  const deskActions = new Map<string, { method: string; path: string }>();
  let csrf = '';
  while (queue.length > 0 && seen.size < 40) {
    const url = queue.shift()!;
    if (seen.has(url)) continue;
    seen.add(url);
    const page = await desk.get(url);
    if (page.statusCode !== 200 || !String(page.headers['content-type']).startsWith('text/html')) continue;
    csrf ||= csrfOf(page.body);
    for (const action of actionsOf(page.body)) deskActions.set(`${action.method} ${action.path}`, action);
    load(page.body)('a[href^="/admin"]').each((_, a) => {
      const href = load(a)('a').attr('href') ?? '';
      if (!/sign-out|export|assets|queues|\?/.test(href)) queue.push(href);
    });
  }
  for (const action of deskActions.values()) {
    if (action.method !== 'POST' || action.path.includes('sign-out')) continue;
    routes.push({ ...action, headers: { cookie: desk.jar.header(), 'x-csrf-token': csrf } });
  }

  // The blog's own forms, and a subscriber's preferences page, with their tokens made worthless.
  const token = t.app.get(SubscriberTokens).manageToken(subscriber.id);
  for (const url of ['/', `/articles/${article.slug}`, `/preferences/${token}`, '/sign-in', '/upgrade']) {
    const page = await t.request({ method: 'GET', url });
    for (const action of actionsOf(page.body)) {
      if (action.method === 'POST')
        routes.push({ ...action, path: action.path.replace(token, GARBAGE_TOKEN), headers: {} });
    }
  }
  // Stripe's webhook is in no page and no API document: it is sent hostile bodies, unsigned.
  routes.push({ method: 'POST', path: '/stripe/webhook', headers: {} });
});

afterAll(async () => {
  await t.close();
  await stripe.close();
});

describe('every route, every hostile body', () => {
  it('found the routes: the API, the desk’s forms and the blog’s', () => {
    const paths = routes.map((route) => route.path);
    expect(paths).toEqual(
      expect.arrayContaining([
        '/api/articles',
        '/api/subscribers/import',
        `/api/editions/${GARBAGE_ID}/test`,
        '/admin/articles/preview',
        '/admin/subscribers/import?id=fuzz-import-1',
        '/subscribe',
        '/sign-in',
        '/upgrade',
        '/stripe/webhook',
        `/unsubscribe/${GARBAGE_TOKEN}`,
        `/preferences/${GARBAGE_TOKEN}/erase`,
      ]),
    );
    expect(paths.filter((path) => path.startsWith('/admin/')).length).toBeGreaterThan(10);
  });

  it('answers each with a 4xx, keeps serving /health meanwhile, and writes nothing', async () => {
    const before = await rowCounts();
    const failures: string[] = [];
    let health = 0;
    const watch = { running: true };
    const healthWatch = (async () => {
      while (watch.running) {
        const res = await fetch(`${base}/health`);
        if (res.status !== 200) failures.push(`/health answered ${res.status}`);
        health++;
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    })();
    try {
      for (const route of routes) {
        for (const hostile of hostileBodies(t.config.maxBodyBytes)) {
          const res = await fetch(`${base}${route.path}`, {
            method: route.method,
            headers: { ...route.headers, 'content-type': hostile.type, accept: 'application/json' },
            body: hostile.body,
          });
          await res.arrayBuffer();
          const allowed = res.status >= 400 && res.status < 500;
          // The one-click unsubscribe takes any body by design (RFC 8058); its token is worthless here.
          if (!allowed && !(route.path.startsWith('/unsubscribe/') && res.status < 500))
            failures.push(`${route.method} ${route.path} with ${hostile.name}: ${res.status}`);
        }
      }
    } finally {
      watch.running = false;
      await healthWatch;
    }
    expect(failures).toEqual([]);
    expect(health).toBeGreaterThan(0);
    expect(await rowCounts()).toEqual(before);
  });
});
