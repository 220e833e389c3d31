import { count } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { articles, editions, subscribers } from '../src/database/schema.js';
import { SubscriberTokens } from '../src/mail/subscriber-tokens.js';
import { DeskClient } from './helpers/desk.js';
import { publishedArticle } from './helpers/editions.js';
import { startTestApp, subscriberByEmail, type TestApp } from './helpers/test-app.js';

let t: TestApp;
let desk: DeskClient;

beforeAll(async () => {
  t = await startTestApp();
  desk = new DeskClient(t);
  await desk.setUp();
  await desk.signIn();
});
afterAll(async () => {
  await t.close();
});

async function rowCounts(): Promise<number[]> {
  const db = t.database.db;
  const [a] = await db.select({ n: count() }).from(articles);
  const [s] = await db.select({ n: count() }).from(subscribers);
  const [e] = await db.select({ n: count() }).from(editions);
  return [a!.n, s!.n, e!.n];
}

async function healthy(): Promise<void> {
  expect((await t.request({ method: 'GET', url: '/health' })).statusCode).toBe(200);
}

/** `depth` arrays nested in one another: `[[[…]]]`. */
function nested(depth: number): string {
  return '['.repeat(depth) + ']'.repeat(depth);
}

describe('request bodies a route does not take', () => {
  it('answers a CSV body on /subscribe with 415 over a real socket, and keeps serving', async () => {
    const before = await rowCounts();
    // The process died of this once: the raw request reached validation, down to its socket.
    await t.app.listen({ port: 0, host: '127.0.0.1' });
    const base = (await t.app.getUrl()).replace('[::1]', '127.0.0.1');
    for (let i = 0; i < 3; i++) {
      const res = await fetch(`${base}/subscribe`, {
        method: 'POST',
        headers: { 'content-type': 'text/csv' },
        body: 'email\nattaque@exemple.fr\n',
      });
      expect(res.status).toBe(415);
      expect(((await res.json()) as { message: string }).message).toMatch(/text\/csv/);
    }
    expect((await fetch(`${base}/health`)).status).toBe(200);
    expect(await rowCounts()).toEqual(before);
  });

  it('answers XML and multipart on JSON routes with 415', async () => {
    for (const type of ['application/xml', 'multipart/form-data; boundary=x']) {
      const res = await t.request({
        method: 'POST',
        url: '/api/articles',
        headers: { 'content-type': type, authorization: `Bearer ${t.config.adminApiToken}` },
        payload: '--x\r\n\r\n--x--\r\n',
      });
      expect(res.statusCode, type).toBe(415);
    }
    await healthy();
  });
});

describe('JSON bodies', () => {
  it('refuses deep nesting in milliseconds with a 400 naming the limit', async () => {
    for (const [url, headers] of [
      ['/subscribe', {}],
      ['/api/articles', { authorization: `Bearer ${t.config.adminApiToken}` }],
      ['/admin/sign-in', {}],
    ] as const) {
      const res = await t.request({
        method: 'POST',
        url,
        headers: { 'content-type': 'application/json', ...headers },
        payload: `{"email":${nested(400_000)}}`,
      });
      expect(res.statusCode, url).toBe(400);
      expect(res.json().message, url).toMatch(/nest/);
    }
    await healthy();
  });

  it('refuses null, arrays and numbers where an object is expected', async () => {
    for (const payload of ['null', '[]', '42', '"x"']) {
      const res = await t.request({
        method: 'POST',
        url: '/api/articles',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${t.config.adminApiToken}` },
        payload,
      });
      expect(res.statusCode, payload).toBe(400);
      expect(res.json().message).toMatch(/body/);
    }
  });

  it('refuses __proto__ keys, NUL bytes and lone surrogates, naming the field', async () => {
    const before = await rowCounts();
    const auth = { 'content-type': 'application/json', authorization: `Bearer ${t.config.adminApiToken}` };
    const cases: [string, string][] = [
      ['{"title":"a","body_md":"x\\u0000y"}', 'body_md'],
      ['{"title":"a","lede":"\\u0000"}', 'lede'],
      ['{"title":"a\\ud800"}', 'title'],
      ['{"title":"a","tags":["ok","\\udfff"]}', 'tags.1'],
      ['{"title":"a","__proto__":{"admin":true}}', '__proto__'],
      ['{"title":"a","x":{"constructor":{"prototype":{}}}}', 'x.constructor'],
    ];
    for (const [payload, field] of cases) {
      const res = await t.request({ method: 'POST', url: '/api/articles', headers: auth, payload });
      expect(res.statusCode, payload).toBe(400);
      expect(res.json().message, payload).toContain(field);
    }
    const id = (await publishedArticle(t)).id;
    const edition = (
      await t.api('POST', '/api/editions', { subject: 'Une lettre', article_ids: [id] })
    ).json<{ id: string }>();
    const test = await t.request({
      method: 'POST',
      url: `/api/editions/${edition.id}/test`,
      headers: auth,
      payload: '{"email":"a\\ud83d@exemple.fr"}',
    });
    expect(test.statusCode).toBe(400);
    expect((await rowCounts())[0]).toBe(before[0]! + 1);
  });

  it('answers a body past the size limit with 413', async () => {
    const res = await t.request({
      method: 'POST',
      url: '/subscribe',
      headers: { 'content-type': 'application/json' },
      payload: JSON.stringify({ email: 'a@exemple.fr', name: 'x'.repeat(t.config.maxBodyBytes) }),
    });
    expect(res.statusCode).toBe(413);
  });
});

describe('query strings and forms', () => {
  it('refuses a NUL byte in a query with a 400 naming it', async () => {
    const res = await t.api('GET', '/api/subscribers?q=%00');
    expect(res.statusCode).toBe(400);
    expect(res.json().message).toContain('q');
    const page = await desk.get('/admin/subscribers?q=%00');
    expect(page.statusCode).toBe(400);
  });

  it('refuses a non-ASCII CSRF token and a null JSON body on desk forms with a 4xx', async () => {
    const before = await rowCounts();
    const forged = await desk.post('/admin/articles', { _csrf: 'éééé', title: 'x' });
    expect(forged.statusCode).toBe(403);
    const header = await desk.post('/admin/articles', { title: 'x' }, { 'x-csrf-token': 'ü'.repeat(43) });
    expect(header.statusCode).toBe(403);
    const nullBody = await t.request({
      method: 'POST',
      url: '/admin/articles',
      headers: { cookie: desk.jar.header(), 'content-type': 'application/json' },
      payload: 'null',
    });
    expect(nullBody.statusCode).toBe(400);
    expect(await rowCounts()).toEqual(before);
  });
});

describe('the RFC 8058 one-click unsubscribe', () => {
  it('accepts multipart/form-data, any other body, or none', async () => {
    const seeded = await t.api('POST', '/api/subscribers', {
      email: 'multipart@exemple.fr',
      confirmed: true,
    });
    expect(seeded.statusCode).toBe(201);
    const token = t.app.get(SubscriberTokens).manageToken(seeded.json().id as string);
    const boundary = '----depeche';
    const res = await t.request({
      method: 'POST',
      url: `/unsubscribe/${token}`,
      headers: { 'content-type': `multipart/form-data; boundary=${boundary}` },
      payload: `--${boundary}\r\nContent-Disposition: form-data; name="List-Unsubscribe"\r\n\r\nOne-Click\r\n--${boundary}--\r\n`,
    });
    expect(res.statusCode).toBe(200);
    expect((await subscriberByEmail(t, 'multipart@exemple.fr'))?.status).toBe('unsubscribed');
    for (const type of ['text/plain', 'application/octet-stream', 'text/csv']) {
      const again = await t.request({
        method: 'POST',
        url: `/unsubscribe/${token}`,
        headers: { 'content-type': type },
        payload: 'List-Unsubscribe=One-Click',
      });
      expect(again.statusCode, type).toBe(200);
    }
    await healthy();
  });
});
