import { load } from 'cheerio';
import { and, desc, eq } from 'drizzle-orm';
import { addressHashOf, deliveries, subscribers, suppressions } from '../src/database/schema.js';
import { ClicksRepository } from '../src/delivery/clicks.repository.js';
import { DeliveriesRepository } from '../src/delivery/deliveries.repository.js';
import { ROWS_IN_FLIGHT } from '../src/delivery/edition-delivery.service.js';
import { EditionComposer } from '../src/mail/edition-composer.js';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { CANARY_MARK, SAMPLE_TEASER_SENTENCE, SAMPLE_TITLE } from './fixtures/sample-article.js';
import { seedAudience } from './helpers/audience.js';
import { FAST_PIPELINE, finished, publishedArticle, scheduledEdition, SUBJECT } from './helpers/editions.js';
import { eventually, type ReceivedMail, type SmtpSink, startSmtpSink } from './helpers/smtp-sink.js';
import { startTestApp, subscriberByEmail, type TestApp } from './helpers/test-app.js';

function partsOf(mail: ReceivedMail): string {
  return `${mail.parsed.html || ''}\n${mail.parsed.text ?? ''}\n${mail.raw.toString('utf8')}`;
}

describe('an edition sent to a mixed audience', () => {
  let t: TestApp;
  let sink: SmtpSink;
  beforeAll(async () => {
    sink = await startSmtpSink();
    t = await startTestApp({ SMTP_URL: sink.url, ...FAST_PIPELINE });
  });
  afterAll(async () => {
    await t.close();
    await sink.close();
  });

  it('gives free subscribers the teaser, premium ones the full text, and nobody else anything', async () => {
    const article = await publishedArticle(t);
    const audience = await seedAudience(t, {
      free: 110,
      premium: 110,
      pending: 30,
      unsubscribed: 30,
      bounced: 10,
      suppressed: 10,
    });
    const edition = await scheduledEdition(t, article.id, 2000);
    const done = await finished(t, edition.id);
    expect(done).toMatchObject({
      status: 'sent',
      counts: { total: 220, sent: 220, failed: 0, skipped: 0, pending: 0 },
    });

    for (const email of audience.free) {
      const mails = sink.to(email);
      expect(mails, email).toHaveLength(1);
      const mail = mails[0]!;
      expect(partsOf(mail)).not.toContain(CANARY_MARK);
      expect(mail.parsed.text?.replace(/\s+/g, ' ')).toContain(SAMPLE_TEASER_SENTENCE);
      // "Lire la suite" goes through the click redirect to the article with this reader's own link
      // (test/clicks.spec.ts, test/premium-web.spec.ts).
      expect(mail.parsed.html).toContain('href="https://blog.example.test/r/');
      expect(mail.parsed.html).not.toContain(`href="https://blog.example.test/articles/`);
      expect(mail.parsed.text).toContain('Lire la suite');
    }
    for (const email of audience.premium) {
      const mails = sink.to(email);
      expect(mails, email).toHaveLength(1);
      expect(mails[0]!.parsed.html).toContain(CANARY_MARK);
      expect(mails[0]!.parsed.text).toContain(CANARY_MARK);
    }
    for (const email of audience.excluded) expect(sink.to(email), email).toHaveLength(0);
    expect(sink.messages).toHaveLength(220);
  });

  it('writes well-formed messages whose headers a mail client and a provider expect', async () => {
    const mail = sink.messages.find((m) => m.envelopeTo[0]?.includes('-free-'))!;
    const { parsed } = mail;
    expect(parsed.subject).toBe(SUBJECT);
    expect(parsed.messageId).toMatch(/^<[0-9a-f-]{36}\.[0-9a-f-]{36}@blog\.example\.test>$/);
    expect(parsed.date).toBeInstanceOf(Date);
    expect(parsed.headers.get('content-type')).toMatchObject({ value: 'multipart/alternative' });
    expect(parsed.headers.get('precedence')).toBe('bulk');
    expect(parsed.headers.get('feedback-id')).toMatch(/:free:depeche:blog\.example\.test$/);
    const list = parsed.headers.get('list') as {
      unsubscribe: { url: string; mail: string };
      id: { name: string };
    };
    expect(list.id.name).toBe('newsletter.blog.example.test');
    expect(list.unsubscribe.url).toMatch(/^https:\/\/blog\.example\.test\/unsubscribe\//);
    expect(list.unsubscribe.mail).toMatch(/\?subject=unsubscribe/);
    expect((list as unknown as Record<string, { name: string }>)['unsubscribe-post']!.name).toBe(
      'List-Unsubscribe=One-Click',
    );
    // The preheader is the editor's, in the hidden preview block at the top of the HTML.
    expect(
      load(parsed.html || '')('div')
        .first()
        .text(),
    ).toContain('La lettre de la semaine');
    expect(parsed.html).toContain(SAMPLE_TITLE.replace(/'/g, '&#x27;'));

    const unsubscribe = await t.request({
      method: 'POST',
      url: new URL(list.unsubscribe.url).pathname,
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: 'List-Unsubscribe=One-Click',
    });
    expect(unsubscribe.statusCode).toBe(200);
    expect((await subscriberByEmail(t, mail.envelopeTo[0]!))!.status).toBe('unsubscribed');
  });

  it('links each email to a web version at its reader tier, by a token that opens nothing else', async () => {
    const webLink = (mail: ReceivedMail): string => {
      const href = load(mail.parsed.html || '')('a')
        .filter((_, a) => load(a).text().includes('Lire cette lettre en ligne'))
        .attr('href');
      expect(href, 'web version link').toBeDefined();
      expect(mail.parsed.text).toContain(href);
      return new URL(href!).pathname;
    };
    const freeMail = sink.messages.find((m) => m.envelopeTo[0]?.includes('-free-'))!;
    const premiumMail = sink.messages.find((m) => m.envelopeTo[0]?.includes('-premium-'))!;
    const freeLink = webLink(freeMail);
    const premiumLink = webLink(premiumMail);
    const [, , editionId, readerToken] = premiumLink.split('/');
    const unsubscribeToken = (premiumMail.parsed.html || '').match(/\/unsubscribe\/([^"]+)"/)![1];
    expect(readerToken).not.toBe(unsubscribeToken);

    const free = await t.request({ method: 'GET', url: freeLink });
    expect(free.statusCode).toBe(200);
    expect(free.body).not.toContain(CANARY_MARK);
    expect(free.body).toContain('Lire la suite');
    const premium = await t.request({ method: 'GET', url: premiumLink });
    expect(premium.statusCode).toBe(200);
    expect(premium.body).toContain(CANARY_MARK);
    expect(premium.headers['cache-control']).toBe('private, no-store');
    expect(premium.headers['x-robots-tag']).toBe('noindex');
    // A copy anyone may be shown: no unsubscribe or preferences link to act for the reader.
    expect(premium.body).not.toMatch(/\/(unsubscribe|preferences)\//);

    const anyone = await t.request({ method: 'GET', url: `/editions/${editionId}` });
    expect(anyone.statusCode).toBe(200);
    expect(anyone.body).not.toContain(CANARY_MARK);

    // The reader token is not a manage token, and a tampered one opens nothing.
    expect((await t.request({ method: 'GET', url: `/preferences/${readerToken}` })).statusCode).toBe(400);
    const tampered = `${readerToken!.slice(0, -2)}${readerToken!.endsWith('AA') ? 'BB' : 'AA'}`;
    const refused = await t.request({ method: 'GET', url: `/editions/${editionId}/${tampered}` });
    expect(refused.statusCode).toBe(404);
    expect(refused.body).not.toContain(CANARY_MARK);

    // A reader who leaves premium reads the teaser from the same link.
    const reader = await subscriberByEmail(t, premiumMail.envelopeTo[0]!);
    expect((await t.api('PATCH', `/api/subscribers/${reader!.id}`, { tier: 'free' })).statusCode).toBe(200);
    const downgraded = await t.request({ method: 'GET', url: premiumLink });
    expect(downgraded.statusCode).toBe(200);
    expect(downgraded.body).not.toContain(CANARY_MARK);

    // An edition that never started sending has no web version.
    const article = await publishedArticle(t);
    const draft = (
      await t.api('POST', '/api/editions', { subject: 'Brouillon', article_ids: [article.id] })
    ).json();
    expect((await t.request({ method: 'GET', url: `/editions/${draft.id}` })).statusCode).toBe(404);
    expect((await t.request({ method: 'GET', url: '/editions/pas-un-uuid' })).statusCode).toBe(404);
  });

  it('previews each tier, and the free preview holds nothing after the cut', async () => {
    const article = await publishedArticle(t);
    const { id } = (
      await t.api('POST', '/api/editions', { subject: 'Aperçu', article_ids: [article.id] })
    ).json();
    const free = await t.api('GET', `/api/editions/${id}/preview?tier=free`);
    expect(free.statusCode).toBe(200);
    expect(free.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(free.body).toContain(SAMPLE_TEASER_SENTENCE.replace(/'/g, '&#x27;').slice(0, 20));
    expect(free.body).not.toContain(CANARY_MARK);
    expect(free.headers['x-gmail-clipping']).toBeUndefined();
    const premium = await t.api('GET', `/api/editions/${id}/preview?tier=premium`);
    expect(premium.body).toContain(CANARY_MARK);
    expect((await t.api('GET', `/api/editions/${id}/preview?tier=gold`)).statusCode).toBe(400);

    // Kept between views, but never past a change: of an article, or of the edition itself.
    await t.api('PATCH', `/api/articles/${article.id}`, { title: 'Un titre corrigé' });
    expect((await t.api('GET', `/api/editions/${id}/preview?tier=free`)).body).toContain('Un titre corrigé');
    await t.api('PATCH', `/api/editions/${id}`, { subject: 'Aperçu, deuxième version' });
    expect((await t.api('GET', `/api/editions/${id}/preview?tier=free`)).body).toContain(
      'Aperçu, deuxième version',
    );
  });

  it('sends a test copy to an address, as the tier sees it', async () => {
    const article = await publishedArticle(t);
    const { id } = (
      await t.api('POST', '/api/editions', { subject: 'Essai', article_ids: [article.id] })
    ).json();
    const res = await t.api('POST', `/api/editions/${id}/test`, {
      email: 'redaction@exemple.fr',
      tier: 'free',
    });
    expect(res.statusCode).toBe(202);
    const [mail] = await sink.waitFor('redaction@exemple.fr');
    expect(mail!.parsed.subject).toBe('[TEST] Essai');
    expect(partsOf(mail!)).not.toContain(CANARY_MARK);
    expect((await t.api('GET', `/api/editions/${id}`)).json().status).toBe('draft');
  });

  it('refuses bad editions with a 400 naming the field', async () => {
    for (const [body, field] of [
      [{ subject: '', article_ids: [] }, 'subject'],
      [{ subject: 'x', article_ids: ['4f0c3a6e-9a51-4d3e-8d8e-2f6f6f3b8a11'] }, 'article_ids'],
      [{ subject: 'x', article_ids: ['nope'] }, 'article_ids'],
      [{ subject: 'a\r\nBcc: x@y.z', article_ids: [] }, 'subject'],
      [{ subject: 'x', audience: 'vip', article_ids: [] }, 'audience'],
    ] as const) {
      const res = await t.api('POST', '/api/editions', body);
      expect(res.statusCode, JSON.stringify(body)).toBe(400);
      expect(res.json().details.map((d: { field: string }) => d.field)).toContain(field);
    }
    const article = await publishedArticle(t);
    const { id } = (await t.api('POST', '/api/editions', { subject: 'x', article_ids: [article.id] })).json();
    for (const send_at of ['demain', '2020-01-01T00:00:00Z']) {
      const res = await t.api('POST', `/api/editions/${id}/schedule`, { send_at });
      expect(res.json().details[0].field).toBe('send_at');
    }
  });
});

describe('an unreliable SMTP server', () => {
  it('delivers everything in the end when 20 % of messages meet a 451', async () => {
    let n = 0;
    const sink = await startSmtpSink({
      rejectRecipient: () => {
        n += 1;
        return n % 5 === 0 ? { code: 451, message: '451 4.7.1 Greylisted, try again later' } : undefined;
      },
    });
    const t = await startTestApp({ SMTP_URL: sink.url, ...FAST_PIPELINE });
    try {
      const article = await publishedArticle(t);
      const audience = await seedAudience(t, { free: 60, premium: 60 });
      const edition = await scheduledEdition(t, article.id);
      expect(await finished(t, edition.id)).toMatchObject({
        status: 'sent',
        counts: { sent: 120, failed: 0 },
      });
      for (const email of [...audience.free, ...audience.premium])
        expect(sink.to(email), email).toHaveLength(1);
    } finally {
      await t.close();
      await sink.close();
    }
  });

  it('fails and suppresses addresses answered 550 5.1.1, without retrying them', async () => {
    const tries = new Map<string, number>();
    const sink = await startSmtpSink({
      rejectRecipient: (address) => {
        if (!address.includes('-free-1')) return undefined;
        tries.set(address, (tries.get(address) ?? 0) + 1);
        return { code: 550, message: '550 5.1.1 No such user here' };
      },
    });
    const t = await startTestApp({ SMTP_URL: sink.url, ...FAST_PIPELINE });
    try {
      const article = await publishedArticle(t);
      const audience = await seedAudience(t, { free: 20, premium: 5 });
      const bouncing = audience.free.filter((email) => email.includes('-free-1'));
      const edition = await scheduledEdition(t, article.id);
      const done = await finished(t, edition.id);
      expect(done).toMatchObject({
        status: 'sent',
        counts: { failed: bouncing.length, sent: 25 - bouncing.length },
      });
      for (const email of bouncing) {
        expect(tries.get(email), email).toBe(1);
        expect((await subscriberByEmail(t, email))!.status).toBe('bounced');
      }
      // The next edition does not even try them.
      const next = await scheduledEdition(t, article.id);
      expect(await finished(t, next.id)).toMatchObject({
        counts: { total: 25 - bouncing.length, failed: 0 },
      });
      for (const email of bouncing) expect(tries.get(email)).toBe(1);
    } finally {
      await t.close();
      await sink.close();
    }
  });
});

describe('the queue while a large edition goes out', () => {
  it('sends an editor’s test copy before the large edition’s waiting batches', async () => {
    // 5 ms a message, two at a time: the big edition's four batches take seconds however fast the machine.
    const sink = await startSmtpSink({ delayMs: 5 });
    const t = await startTestApp({ SMTP_URL: sink.url, SEND_CONCURRENCY: '2', ...FAST_PIPELINE });
    try {
      const article = await publishedArticle(t);
      await seedAudience(t, { free: 1000, premium: 1000 }, 'queue');
      const big = await scheduledEdition(t, article.id);
      await eventually(() => (sink.messages.length >= 10 ? true : undefined));
      // An editor checks another edition meanwhile.
      const other = (
        await t.api('POST', '/api/editions', { subject: 'Épreuve', article_ids: [article.id] })
      ).json();
      const asked = await t.api('POST', `/api/editions/${other.id}/test`, { email: 'relecture@exemple.fr' });
      expect(asked.statusCode).toBe(202);
      await sink.waitFor('relecture@exemple.fr');
      // It came while the big edition still had most of its batches waiting, not after them.
      const counts = await t.app.get(DeliveriesRepository).counts(big.id);
      expect(counts.pending).toBeGreaterThan(500);
      expect(await finished(t, big.id)).toMatchObject({ status: 'sent', counts: { sent: 2000 } });
    } finally {
      await t.close();
      await sink.close();
    }
  });
});

describe('stopping a send', () => {
  /** The last recipient of the ledger, while the first chunk is still going out: not mailed yet. */
  async function notYetSent(t: TestApp, editionId: string): Promise<string> {
    const [row] = await t.database.db
      .select({ id: deliveries.subscriberId })
      .from(deliveries)
      .where(and(eq(deliveries.editionId, editionId), eq(deliveries.status, 'pending')))
      .orderBy(desc(deliveries.seq))
      .limit(1);
    return row!.id;
  }

  it('mails nobody who unsubscribed during the send', async () => {
    const sink = await startSmtpSink({ delayMs: 10 });
    const t = await startTestApp({ SMTP_URL: sink.url, SEND_CONCURRENCY: '2', ...FAST_PIPELINE });
    try {
      const article = await publishedArticle(t);
      await seedAudience(t, { free: 100, premium: 100 });
      const edition = await scheduledEdition(t, article.id);
      await eventually(() => (sink.messages.length >= 10 ? true : undefined));
      const leaver = (await t.api('GET', `/api/subscribers/${await notYetSent(t, edition.id)}`)).json();
      await t.api('PATCH', `/api/subscribers/${leaver.id}`, { status: 'unsubscribed' });
      expect(await finished(t, edition.id)).toMatchObject({
        status: 'sent',
        counts: { sent: 199, skipped: 1 },
      });
      expect(sink.to(leaver.email)).toHaveLength(0);
    } finally {
      await t.close();
      await sink.close();
    }
  });

  it('mails nobody more after a cancel than the messages already in flight', async () => {
    const sink = await startSmtpSink({ delayMs: 20 });
    const t = await startTestApp({ SMTP_URL: sink.url, SEND_CONCURRENCY: '2', ...FAST_PIPELINE });
    try {
      const article = await publishedArticle(t);
      await seedAudience(t, { free: 150, premium: 150 });
      const edition = await scheduledEdition(t, article.id);
      await eventually(() => (sink.messages.length >= 10 ? true : undefined));
      const cancelled = await t.api('POST', `/api/editions/${edition.id}/cancel`);
      expect(cancelled.json().status).toBe('cancelled');
      const atCancel = sink.messages.length;
      await new Promise((resolve) => setTimeout(resolve, 1500));
      // Only messages already taken may still complete: at most the rows a worker holds in flight.
      expect(sink.messages.length - atCancel).toBeLessThanOrEqual(ROWS_IN_FLIGHT);
      const edited = (await t.api('GET', `/api/editions/${edition.id}`)).json();
      expect(edited.status).toBe('cancelled');
      const counts = await t.app.get(DeliveriesRepository).counts(edition.id);
      expect(counts.sent).toBeGreaterThanOrEqual(sink.messages.length - ROWS_IN_FLIGHT);
      expect(counts.skipped).toBeGreaterThan(0);
      expect(sink.messages.length).toBeLessThan(300);
    } finally {
      await t.close();
      await sink.close();
    }
  });
});

describe("a subscriber's data export", () => {
  it('lists the editions sent to them', async () => {
    const sink = await startSmtpSink();
    const t = await startTestApp({ SMTP_URL: sink.url, ...FAST_PIPELINE });
    try {
      const article = await publishedArticle(t);
      const audience = await seedAudience(t, { free: 1, premium: 0 }, 'export');
      const edition = await scheduledEdition(t, article.id);
      await finished(t, edition.id);
      const [mail] = sink.to(audience.free[0]!);
      const list = mail!.parsed.headers.get('list') as { unsubscribe: { url: string } };
      const token = list.unsubscribe.url.split('/').pop()!;
      const data = (await t.request({ method: 'GET', url: `/preferences/${token}/export` })).json();
      expect(data.deliveries).toEqual([{ edition: SUBJECT, status: 'sent', sent_at: expect.any(String) }]);
    } finally {
      await t.close();
      await sink.close();
    }
  });
});

describe('VERP_ADDRESS', () => {
  it('gives each message an envelope sender naming its subscriber, and keeps From as it is', async () => {
    const sink = await startSmtpSink();
    const t = await startTestApp({
      SMTP_URL: sink.url,
      VERP_ADDRESS: 'retours@blog.example.test',
      ...FAST_PIPELINE,
    });
    try {
      const article = await publishedArticle(t);
      const audience = await seedAudience(t, { free: 2, premium: 1 }, 'verp');
      await finished(t, (await scheduledEdition(t, article.id)).id);
      for (const email of [...audience.free, ...audience.premium]) {
        const [mail] = sink.to(email);
        const subscriber = await subscriberByEmail(t, email);
        expect(mail!.envelopeFrom).toBe(`retours+${subscriber!.id}@blog.example.test`);
        expect(mail!.parsed.from?.value[0]?.address).toBe('newsletter@blog.example.test');
      }
    } finally {
      await t.close();
      await sink.close();
    }
  });
});

describe('EDITION_ON_PUBLISH', () => {
  it('turns a published article into an edition sent at once, only the first time', async () => {
    const sink = await startSmtpSink();
    const t = await startTestApp({ SMTP_URL: sink.url, EDITION_ON_PUBLISH: 'true', ...FAST_PIPELINE });
    try {
      const audience = await seedAudience(t, { free: 3, premium: 2 }, 'auto');
      const article = await publishedArticle(t);
      const editions = await eventually(async () => {
        const list = (await t.api('GET', '/api/editions')).json();
        return list.length === 1 && list[0].status === 'sent' ? list : undefined;
      });
      expect(editions[0]).toMatchObject({ subject: SAMPLE_TITLE, audience: 'all', counts: { sent: 5 } });
      const [mail] = sink.to(audience.free[0]!);
      expect(mail!.parsed.subject).toBe(SAMPLE_TITLE);
      expect(partsOf(mail!)).not.toContain(CANARY_MARK);

      await t.api('POST', `/api/articles/${article.id}/unpublish`);
      await t.api('POST', `/api/articles/${article.id}/publish`);
      await new Promise((resolve) => setTimeout(resolve, 1000));
      expect((await t.api('GET', '/api/editions')).json()).toHaveLength(1);
    } finally {
      await t.close();
      await sink.close();
    }
  });
});

describe('an edition due between two ticks', () => {
  it('starts at its time, not at the next regular tick', async () => {
    const sink = await startSmtpSink();
    // Ticks ten seconds apart: without a tick of its own the edition would wait up to ten. The
    // bound below is half that, wide enough for a slow machine to start it a little late.
    const t = await startTestApp({ SMTP_URL: sink.url, ...FAST_PIPELINE, TICK_INTERVAL_MS: '10000' });
    try {
      const article = await publishedArticle(t);
      await seedAudience(t, { free: 1, premium: 1 }, 'ponctuel');
      const edition = await scheduledEdition(t, article.id, 12_000);
      const done = await finished(t, edition.id);
      const late = Date.parse(done.started_at) - Date.parse(done.scheduled_at);
      expect(late).toBeGreaterThanOrEqual(0);
      expect(late).toBeLessThan(5000);
    } finally {
      await t.close();
      await sink.close();
    }
  });
});

describe('an edition due within a minute', () => {
  it('is composed by the workers ahead of its time, with nothing sent or kept', async () => {
    const sink = await startSmtpSink();
    const t = await startTestApp({ SMTP_URL: sink.url, ...FAST_PIPELINE });
    try {
      // The rehearsal warms the code its first message waits on (composing cold takes ten times
      // longer); what it composed is thrown away, as the edition may still change.
      const compose = vi.spyOn(t.app.get(EditionComposer), 'compose');
      const article = await publishedArticle(t);
      await seedAudience(t, { free: 1, premium: 1 }, 'répétition');
      const edition = await scheduledEdition(t, article.id, 50_000);
      const tiers = await eventually(() => {
        const seen = compose.mock.calls
          .filter(([composed, , , links]) => composed.id === edition.id && links === 'recipient')
          .map(([, , tier]) => tier);
        return seen.length >= 2 ? seen : undefined;
      });
      expect(tiers.sort()).toEqual(['free', 'premium']);
      expect((await t.api('GET', `/api/editions/${edition.id}`)).json().status).toBe('scheduled');
      expect(sink.messages).toHaveLength(0);
      expect((await t.app.get(ClicksRepository).linksOf(edition.id)).size).toBe(0);
    } finally {
      await t.close();
      await sink.close();
    }
  });
});

describe('an audience whose first slice is all suppressed addresses', () => {
  it('is frozen past them: everyone else receives the edition, the suppressed nobody', async () => {
    const sink = await startSmtpSink();
    const t = await startTestApp({ SMTP_URL: sink.url, ...FAST_PIPELINE });
    try {
      const article = await publishedArticle(t);
      // Ids below any random one: the freeze, in id order, meets the suppressed addresses first,
      // more of them than its first slice takes.
      const suppressed = Array.from({ length: 1200 }, (_, i) => ({
        id: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
        // Capitals, accented ones too: the hash each subscriber keeps must be the one the list keeps.
        email: `Supprimé-É${i}@exemple.fr`,
      }));
      await t.database.db.insert(subscribers).values(
        suppressed.map(({ id, email }) => ({
          id,
          email,
          tier: 'free' as const,
          status: 'active' as const,
          consentSource: 'import' as const,
          consentWording: 'test',
          confirmedAt: new Date(),
        })),
      );
      await t.database.db.insert(suppressions).values(
        suppressed.map(({ email }) => ({
          addressHash: addressHashOf(email),
          reason: 'complaint' as const,
        })),
      );
      const audience = await seedAudience(t, { free: 20, premium: 20 }, 'après');
      const edition = await scheduledEdition(t, article.id, 0);
      expect(await finished(t, edition.id)).toMatchObject({
        status: 'sent',
        counts: { total: 40, sent: 40 },
      });
      for (const email of [...audience.free, ...audience.premium])
        expect(sink.to(email), email).toHaveLength(1);
      expect(sink.messages).toHaveLength(40);
    } finally {
      await t.close();
      await sink.close();
    }
  });
});
