import { getQueueToken } from '@nestjs/bullmq';
import type { Queue } from 'bullmq';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { load } from 'cheerio';
import { simpleParser } from 'mailparser';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addressHashOf, subscribers, suppressions } from '../src/database/schema.js';
import { SUBSCRIPTIONS_QUEUE } from '../src/queue/jobs.js';
import { startTestApp, subscriberByEmail, type TestApp } from './helpers/test-app.js';
import { eventually, type ReceivedMail, type SmtpSink, startSmtpSink } from './helpers/smtp-sink.js';

let t: TestApp;
let sink: SmtpSink;
let ipCounter = 0;

beforeAll(async () => {
  sink = await startSmtpSink();
  t = await startTestApp({ SMTP_URL: sink.url, SUBSCRIBE_RATE_LIMIT: '10/600' });
});
afterAll(async () => {
  await t.close();
  await sink.close();
});

/** Each caller its own address unless told otherwise, so the per-IP limit stays out of the way. */
function nextIp(): string {
  ipCounter += 1;
  return `198.51.100.${(ipCounter % 250) + 1}`;
}

async function subscribe(email: string, extra: Record<string, string> = {}, ip = nextIp()) {
  return t.request({
    method: 'POST',
    url: '/subscribe',
    remoteAddress: ip,
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      accept: 'text/html',
      'user-agent': 'Lecteur/1.0',
    },
    payload: new URLSearchParams({ email, ...extra }).toString(),
  });
}

function linkIn(mail: ReceivedMail, path: string): string {
  const match = new RegExp(`https://blog\\.example\\.test/${path}/[A-Za-z0-9_.-]+`).exec(
    mail.parsed.text ?? '',
  );
  if (!match) throw new Error(`No /${path}/ link in: ${mail.parsed.text}`);
  return new URL(match[0]).pathname;
}

async function confirmedSubscriber(email: string, name = ''): Promise<{ manage: string }> {
  await subscribe(email, name ? { name } : {});
  const [confirmation] = await sink.waitFor(email);
  await t.request({ method: 'POST', url: linkIn(confirmation!, 'confirm') });
  const welcome = (await sink.waitFor(email, 2))[1]!;
  return { manage: linkIn(welcome, 'unsubscribe').split('/').pop()! };
}

describe('double opt-in', () => {
  it('mails a confirmation whose link shows a button on GET and confirms on POST only', async () => {
    const email = 'Lectrice.Un@Exemple.FR';
    const page = await subscribe(email, { name: 'Hélène' });
    expect(page.statusCode).toBe(200);
    expect(load(page.body)('h1').text()).toBe('Vérifiez votre boîte de réception');

    const [mail] = await sink.waitFor('Lectrice.Un@exemple.fr');
    expect(mail!.parsed.subject).toBe('Confirmez votre abonnement à Le Blog de Dépêche');
    expect(mail!.parsed.to).toMatchObject({ value: [{ address: 'Lectrice.Un@exemple.fr', name: 'Hélène' }] });
    expect(mail!.parsed.text).toContain('Bonjour Hélène,');
    expect(mail!.parsed.html).toContain('Je confirme mon abonnement');
    const link = linkIn(mail!, 'confirm');

    const pending = await subscriberByEmail(t, email);
    expect(pending).toMatchObject({ status: 'pending', tier: 'free', name: 'Hélène', consentSource: 'form' });
    expect(pending!.consentUserAgent).toBe('Lecteur/1.0');
    expect(pending!.consentIp).toMatch(/^198\.51\.100\./);
    expect(pending!.consentWording).toMatch(/^fr-[0-9a-f]{12}$/);

    const get = await t.request({ method: 'GET', url: link });
    expect(get.statusCode).toBe(200);
    expect(load(get.body)('.message form button').text()).toBe('Je confirme mon abonnement');
    expect((await subscriberByEmail(t, email))!.status).toBe('pending');

    const post = await t.request({ method: 'POST', url: link });
    expect(post.statusCode).toBe(200);
    expect(load(post.body)('h1').text()).toBe('Abonnement confirmé');
    const active = await subscriberByEmail(t, email);
    expect(active).toMatchObject({ status: 'active', tier: 'free' });
    expect(active!.confirmedAt).toBeInstanceOf(Date);

    const welcome = (await sink.waitFor('Lectrice.Un@exemple.fr', 2))[1]!;
    expect(welcome.parsed.subject).toBe('Bienvenue dans la newsletter de Le Blog de Dépêche');
    expect(linkIn(welcome, 'unsubscribe')).toMatch(/^\/unsubscribe\//);

    const replay = await t.request({ method: 'POST', url: link });
    expect(replay.statusCode).toBe(400);
    expect(load(replay.body)('p').first().text()).toContain('déjà servi ou a expiré');
  });

  it('refuses an expired confirmation link and leaves the subscriber pending', async () => {
    const email = 'tardif@exemple.fr';
    await subscribe(email);
    const [mail] = await sink.waitFor(email);
    await t.database.db
      .update(subscribers)
      .set({ confirmExpiresAt: new Date(Date.now() - 1000) })
      .where(eq(subscribers.email, email));
    const res = await t.request({ method: 'POST', url: linkIn(mail!, 'confirm') });
    expect(res.statusCode).toBe(400);
    expect((await subscriberByEmail(t, email))!.status).toBe('pending');
    expect((await t.request({ method: 'GET', url: '/confirm/forged-token' })).statusCode).toBe(400);
  });

  it('answers the same for a new, a pending and an active address', async () => {
    await confirmedSubscriber('deja@exemple.fr');
    const bodies = await Promise.all(
      ['deja@exemple.fr', 'tardif@exemple.fr', 'inconnu@exemple.fr'].map(
        async (email) => (await subscribe(email)).body,
      ),
    );
    expect(new Set(bodies).size).toBe(1);
  });
});

describe('abuse controls', () => {
  it('sends at most one confirmation to an address subscribed 50 times', async () => {
    const email = 'cible@exemple.fr';
    const answers = await Promise.all(Array.from({ length: 50 }, () => subscribe(email)));
    expect(answers.every((res) => res.statusCode === 200)).toBe(true);
    await sink.waitFor(email);
    // Give every queued request time to be processed before counting.
    const queue = t.app.get<Queue>(getQueueToken(SUBSCRIPTIONS_QUEUE));
    await eventually(async () => {
      const counts = await queue.getJobCounts('wait', 'active', 'delayed');
      return counts.wait === 0 && counts.active === 0 && counts.delayed === 0 ? true : undefined;
    });
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(sink.to(email)).toHaveLength(1);
  });

  it('answers 429 past the limit of subscribe requests from one client', async () => {
    const ip = '203.0.113.7';
    const answers = [];
    for (let n = 0; n < 50; n += 1) answers.push(await subscribe(`bombe${n}@exemple.fr`, {}, ip));
    expect(answers.slice(0, 10).every((res) => res.statusCode === 200)).toBe(true);
    const refused = answers.slice(10);
    expect(refused.every((res) => res.statusCode === 429)).toBe(true);
    expect(Number(refused[0]!.headers['retry-after'])).toBeGreaterThan(0);
    expect(await subscriberByEmail(t, 'bombe30@exemple.fr')).toBeUndefined();
  });

  it('does nothing, and says it did, when the honeypot is filled', async () => {
    const email = 'robot@exemple.fr';
    const res = await subscribe(email, { website: 'http://spam.example' });
    expect(res.statusCode).toBe(200);
    expect(res.body).toBe((await subscribe('humain@exemple.fr')).body);
    await sink.waitFor('humain@exemple.fr');
    expect(await subscriberByEmail(t, email)).toBeUndefined();
    expect(sink.to(email)).toHaveLength(0);
  });

  it('refuses bad addresses and names with control characters, writing nothing', async () => {
    for (const [payload, field] of [
      [{ email: 'pas-une-adresse' }, 'email'],
      [{ email: 'a@exemple.fr\r\nBcc: victime@exemple.fr' }, 'email'],
      [{ email: 'nom@exemple.fr', name: 'Jean\r\nBcc: x@exemple.fr' }, 'name'],
      [{ email: 'x@exemple.fr', role: 'admin' }, 'role'],
    ] as const) {
      const res = await t.request({
        method: 'POST',
        url: '/subscribe',
        remoteAddress: nextIp(),
        headers: { 'content-type': 'application/json' },
        payload,
      });
      expect(res.statusCode, JSON.stringify(payload)).toBe(400);
      expect(res.json().details[0].field).toBe(field);
    }
    expect(await subscriberByEmail(t, 'nom@exemple.fr')).toBeUndefined();
    expect(await subscriberByEmail(t, 'x@exemple.fr')).toBeUndefined();
  });

  it('accepts JSON subscriptions with a 202', async () => {
    const res = await t.request({
      method: 'POST',
      url: '/subscribe',
      remoteAddress: nextIp(),
      headers: { 'content-type': 'application/json' },
      payload: { email: 'json@exemple.fr', name: 'Zoé' },
    });
    expect(res.statusCode).toBe(202);
    expect(res.json()).toMatchObject({ status: 'pending' });
    await sink.waitFor('json@exemple.fr');
  });
});

describe('one-click unsubscribe', () => {
  it('unsubscribes with a cookie-less RFC 8058 POST: 200, no redirect, idempotent', async () => {
    const email = 'depart@exemple.fr';
    const { manage } = await confirmedSubscriber(email);

    const get = await t.request({ method: 'GET', url: `/unsubscribe/${manage}` });
    expect(get.statusCode).toBe(200);
    expect(get.body).toContain(email);
    expect((await subscriberByEmail(t, email))!.status).toBe('active');

    for (let n = 0; n < 2; n += 1) {
      const res = await t.request({
        method: 'POST',
        url: `/unsubscribe/${manage}`,
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        payload: 'List-Unsubscribe=One-Click',
      });
      expect(res.statusCode).toBe(200);
      expect(res.headers.location).toBeUndefined();
      expect(res.headers['set-cookie']).toBeUndefined();
    }
    const row = await subscriberByEmail(t, email);
    expect(row!.status).toBe('unsubscribed');
    expect(row!.unsubscribedAt).toBeInstanceOf(Date);
  });

  it('refuses a tampered token and changes nothing', async () => {
    const email = 'reste@exemple.fr';
    const { manage } = await confirmedSubscriber(email);
    const [id, signature] = manage.split('.');
    const flipped = `${id}.${signature!.slice(0, -2)}${signature!.endsWith('AA') ? 'AB' : 'AA'}`;
    const other = (await confirmedSubscriber('voisin@exemple.fr')).manage;
    for (const token of [flipped, `${other.split('.')[0]}.${signature}`, 'nope', `${manage}.x`]) {
      const res = await t.request({
        method: 'POST',
        url: `/unsubscribe/${token}`,
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        payload: 'List-Unsubscribe=One-Click',
      });
      expect(res.statusCode, token).toBe(400);
    }
    expect((await subscriberByEmail(t, email))!.status).toBe('active');
    expect((await subscriberByEmail(t, 'voisin@exemple.fr'))!.status).toBe('active');
  });
});

describe('preferences', () => {
  it('renames, unsubscribes and resubscribes from the preferences page', async () => {
    const email = 'prefs@exemple.fr';
    const { manage } = await confirmedSubscriber(email, 'Avant');
    const page = await t.request({ method: 'GET', url: `/preferences/${manage}` });
    expect(page.statusCode).toBe(200);
    const $ = load(page.body);
    expect($('dd').first().text()).toBe(email);
    expect($('input[name=name]').attr('value')).toBe('Avant');

    const form = (body: Record<string, string>) =>
      t.request({
        method: 'POST',
        url: `/preferences/${manage}`,
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        payload: new URLSearchParams(body).toString(),
      });
    expect((await form({ action: 'save', name: 'Éloïse' })).statusCode).toBe(200);
    expect((await subscriberByEmail(t, email))!.name).toBe('Éloïse');
    expect((await form({ action: 'save', name: 'a\nb' })).statusCode).toBe(400);
    expect((await subscriberByEmail(t, email))!.name).toBe('Éloïse');

    await t.request({ method: 'POST', url: `/unsubscribe/${manage}` });
    expect((await subscriberByEmail(t, email))!.status).toBe('unsubscribed');
    expect((await form({ action: 'resubscribe' })).statusCode).toBe(200);
    expect((await subscriberByEmail(t, email))!.status).toBe('active');
  });

  it('exports the data, then erases it so that a new subscribe cannot bring the address back', async () => {
    const email = 'oubli@exemple.fr';
    const { manage } = await confirmedSubscriber(email, 'Margot');
    const exported = await t.request({ method: 'GET', url: `/preferences/${manage}/export` });
    expect(exported.statusCode).toBe(200);
    expect(exported.headers['content-disposition']).toContain('attachment');
    const data = exported.json();
    expect(data.profile).toMatchObject({ email, name: 'Margot', tier: 'free', status: 'active' });
    expect(data.consent).toMatchObject({ source: 'form', user_agent: 'Lecteur/1.0' });
    expect(data.consent.confirmed_at).not.toBeNull();

    const erased = await t.request({ method: 'POST', url: `/preferences/${manage}/erase` });
    expect(erased.statusCode).toBe(200);
    expect(await subscriberByEmail(t, email)).toBeUndefined();
    const [suppressed] = await t.database.db
      .select()
      .from(suppressions)
      .where(eq(suppressions.addressHash, addressHashOf(email)));
    expect(suppressed).toMatchObject({ reason: 'erasure' });
    expect((await t.request({ method: 'GET', url: `/preferences/${manage}` })).statusCode).toBe(400);

    const before = sink.to(email).length;
    expect((await subscribe(email)).statusCode).toBe(200);
    await subscribe('apres-oubli@exemple.fr');
    await sink.waitFor('apres-oubli@exemple.fr');
    expect(sink.to(email)).toHaveLength(before);
    expect(await subscriberByEmail(t, email)).toBeUndefined();
  });
});

describe('without SMTP_URL', () => {
  it('writes each message as an .eml file in the outbox', async () => {
    const local = await startTestApp();
    try {
      const res = await local.request({
        method: 'POST',
        url: '/subscribe',
        headers: { 'content-type': 'application/json' },
        payload: { email: 'boite@exemple.fr', name: 'Noël' },
      });
      expect(res.statusCode).toBe(202);
      const outbox = path.join(local.config.dataDir, 'outbox');
      const file = await eventually(() => readdirSync(outbox).find((name) => name.endsWith('.eml')));
      const parsed = await simpleParser(readFileSync(path.join(outbox, file)));
      expect(parsed.to).toMatchObject({ value: [{ address: 'boite@exemple.fr', name: 'Noël' }] });
      expect(parsed.subject).toBe('Confirmez votre abonnement à Le Blog de Dépêche');
      expect(parsed.text).toMatch(/https:\/\/blog\.example\.test\/confirm\/[A-Za-z0-9_-]{43}/);
    } finally {
      await local.close();
    }
  });
});
