import { load } from 'cheerio';
import type { Response as InjectResponse } from 'light-my-request';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CANARY_MARK, sampleArticle } from './fixtures/sample-article.js';
import { FAST_PIPELINE, finished, scheduledEdition } from './helpers/editions.js';
import { addMember, signedIn } from './helpers/members.js';
import { type ReceivedMail, type SmtpSink, startSmtpSink } from './helpers/smtp-sink.js';
import { PUBLIC_URL, startTestApp, type TestApp } from './helpers/test-app.js';

/** What only premium readers may see: the sample article's sentence after the cut. */

let t: TestApp;
let sink: SmtpSink;
let article: { id: string; slug: string };
/** Premium too, but in no edition: no email's link opens it. */
let otherArticle: { id: string; slug: string };

async function published(overrides: Record<string, unknown>): Promise<{ id: string; slug: string }> {
  const created = await t.api('POST', '/api/articles', sampleArticle({ access: 'premium', ...overrides }));
  expect(created.statusCode).toBe(201);
  expect((await t.api('POST', `/api/articles/${created.json().id}/publish`)).statusCode).toBe(200);
  return created.json();
}

beforeAll(async () => {
  sink = await startSmtpSink();
  // A page cache that outlives the file: whatever it wrongly kept, it would still hand out.
  t = await startTestApp({
    SMTP_URL: sink.url,
    ...FAST_PIPELINE,
    PAGE_CACHE_SECONDS: '3600',
    SIGN_IN_RATE_LIMIT: '100/600',
  });
  article = await published({});
  otherArticle = await published({ title: 'Irak : la bataille de Mossoul', slug: 'mossoul' });
});
afterAll(async () => {
  await t.close();
  await sink.close();
});

function get(url: string, cookie?: string, accept = 'text/html'): Promise<InjectResponse> {
  return t.request({ method: 'GET', url, headers: { accept, ...(cookie ? { cookie } : {}) } });
}

async function setTier(id: string, tier: 'free' | 'premium'): Promise<void> {
  expect((await t.api('PATCH', `/api/subscribers/${id}`, { tier })).statusCode).toBe(200);
}

/** What a reader is offered under the teaser: nothing (full text), a subscription, or an upgrade. */
function paywallOf(body: string): 'none' | 'subscribe' | 'upgrade' {
  const paywall = load(body)('aside.paywall');
  if (paywall.length === 0) return 'none';
  return paywall.hasClass('paywall--upgrade') ? 'upgrade' : 'subscribe';
}

/** The header's last link: sign-in for a stranger, their account for a member. */
function headerLink(body: string): string {
  return load(body)('.masthead__nav a').last().text();
}

describe('premium articles on the blog, by who reads them', () => {
  let premiumCookie: string;
  let freeCookie: string;

  beforeAll(async () => {
    await addMember(t, 'abonnee-premium@exemple.fr', 'premium');
    await addMember(t, 'abonne-gratuit@exemple.fr', 'free');
    premiumCookie = await signedIn(t, sink, 'abonnee-premium@exemple.fr');
    freeCookie = await signedIn(t, sink, 'abonne-gratuit@exemple.fr');
  });

  it('gives a premium member the whole article, a free member an upgrade, and a stranger a subscription', async () => {
    const url = `/articles/${article.slug}`;
    const stranger = await get(url);
    expect(stranger.statusCode).toBe(200);
    expect(stranger.body).not.toContain(CANARY_MARK);
    expect(paywallOf(stranger.body)).toBe('subscribe');
    expect(stranger.body).toContain(`href="${PUBLIC_URL}/sign-in?next=%2Farticles%2F${article.slug}"`);
    expect(headerLink(stranger.body)).toBe('Se connecter');
    expect(stranger.headers['cache-control']).toBe('public, max-age=5');
    expect(stranger.headers.vary).toMatch(/\bCookie\b/i);

    const free = await get(url, freeCookie);
    expect(free.statusCode).toBe(200);
    expect(free.body).not.toContain(CANARY_MARK);
    expect(paywallOf(free.body)).toBe('upgrade');
    expect(load(free.body)('.paywall').text()).toContain('Passer à la newsletter complète');
    expect(load(free.body)('.paywall a[href*="/sign-in"]').length).toBe(0);
    expect(headerLink(free.body)).toBe('Mon compte');
    expect(free.headers['cache-control']).toBe('private, no-store');
    expect(free.headers.vary).toMatch(/\bCookie\b/i);

    const premium = await get(url, premiumCookie);
    expect(premium.statusCode).toBe(200);
    expect(premium.body).toContain(CANARY_MARK);
    expect(paywallOf(premium.body)).toBe('none');
    expect(headerLink(premium.body)).toBe('Mon compte');
    expect(premium.headers['cache-control']).toBe('private, no-store');
    // Search engines are told what the article is, not what this reader may read of it.
    const jsonLd = JSON.parse(load(premium.body)('script[type="application/ld+json"]').text());
    expect(jsonLd.isAccessibleForFree).toBe(false);
    // Meta tags describe the article from before the cut, whoever reads.
    expect(load(premium.body)('head').html()).not.toContain(CANARY_MARK);
  });

  it("never hands one reader's page to another, whoever comes first, on any page, feed or JSON", async () => {
    const urls = ['/', '/?page=1', `/articles/${article.slug}`, '/tags/syrie', '/feed.xml', '/feed.json'];
    const readers = { stranger: undefined, free: freeCookie, premium: premiumCookie } as const;
    // Each order fills the page cache first with a different reader's visit.
    const orders: (keyof typeof readers)[][] = [
      ['premium', 'stranger', 'free', 'stranger', 'premium'],
      ['stranger', 'premium', 'stranger', 'free', 'premium'],
      ['free', 'premium', 'stranger', 'premium', 'free'],
    ];
    for (const order of orders) {
      // A write clears the cache, so that each order starts from nothing.
      await t.api('PATCH', `/api/articles/${otherArticle.id}`, { lede: `Mise à jour ${order.join(' ')}` });
      for (const url of urls) {
        for (const who of order) {
          for (const accept of ['text/html', 'application/json', '*/*']) {
            const answer = await get(url, readers[who], accept);
            const label = `${who} ${url} (${accept}) after ${order.join(', ')}`;
            expect(answer.statusCode, label).toBe(200);
            const mayRead = who === 'premium' && url.startsWith('/articles/');
            expect(answer.body.includes(CANARY_MARK), label).toBe(mayRead);
            if (who !== 'stranger') expect(answer.headers['x-cache'], label).toBeUndefined();
            if (who === 'stranger' && !url.startsWith('/feed'))
              expect(headerLink(answer.body), label).toBe('Se connecter');
            if (who !== 'stranger' && !url.startsWith('/feed'))
              expect(headerLink(answer.body), label).toBe('Mon compte');
          }
        }
      }
    }
    // And what the cache holds now is the strangers' page.
    const kept = await get(`/articles/${article.slug}`);
    expect(kept.headers['x-cache']).toBe('hit');
    expect(kept.body).not.toContain(CANARY_MARK);
    expect(kept.headers['cache-control']).toBe('public, max-age=5');
  });

  it('without Stripe, offers the upgrade at PREMIUM_URL and has no payment pages', async () => {
    const free = await get(`/articles/${article.slug}`, freeCookie);
    expect(load(free.body)('.paywall a.button').attr('href')).toBe(t.config.premiumUrl);
    const upgrade = await get('/upgrade');
    expect(upgrade.statusCode).toBe(303);
    expect(upgrade.headers.location).toBe(t.config.premiumUrl);
    const webhook = await t.request({
      method: 'POST',
      url: '/stripe/webhook',
      headers: { 'content-type': 'application/json', 'stripe-signature': 't=1,v1=00' },
      payload: '{"id":"evt_1","type":"invoice.paid"}',
    });
    expect(webhook.statusCode).toBe(404);
  });

  it('follows a change of tier both ways at the very next page', async () => {
    const url = `/articles/${article.slug}`;
    const id = await addMember(t, 'change@exemple.fr', 'premium');
    const cookie = await signedIn(t, sink, 'change@exemple.fr');
    expect((await get(url, cookie)).body).toContain(CANARY_MARK);

    await setTier(id, 'free');
    const downgraded = await get(url, cookie);
    expect(downgraded.body).not.toContain(CANARY_MARK);
    expect(paywallOf(downgraded.body)).toBe('upgrade');
    expect((await get(url)).body).not.toContain(CANARY_MARK);

    await setTier(id, 'premium');
    expect((await get(url, cookie)).body).toContain(CANARY_MARK);
    const stranger = await get(url);
    expect(stranger.body).not.toContain(CANARY_MARK);
    expect(paywallOf(stranger.body)).toBe('subscribe');
  });

  it('gives a signed-out cookie the public page, clears it, and keeps that answer out of the cache', async () => {
    await addMember(t, 'partie@exemple.fr', 'premium');
    const cookie = await signedIn(t, sink, 'partie@exemple.fr');
    const out = await t.request({
      method: 'POST',
      url: '/sign-out',
      headers: { cookie, origin: PUBLIC_URL },
    });
    expect(out.statusCode).toBe(200);
    await t.api('PATCH', `/api/articles/${otherArticle.id}`, { lede: 'Après la déconnexion' });

    const url = `/articles/${article.slug}`;
    const stale = await get(url, cookie);
    expect(stale.statusCode).toBe(200);
    expect(stale.body).not.toContain(CANARY_MARK);
    expect(paywallOf(stale.body)).toBe('subscribe');
    expect(String(stale.headers['set-cookie'])).toMatch(/^depeche_member=;/);
    // The next stranger is not sent that cookie's removal from a kept copy.
    for (let i = 0; i < 2; i += 1) expect((await get(url)).headers['set-cookie']).toBeUndefined();
  });
});

describe('article links in emails', () => {
  let premiumMail: ReceivedMail;
  let freeMail: ReceivedMail;
  let editionId: string;
  let premiumReader: string;

  /** Where a click link leads: its redirect's Location. */
  async function followed(href: string): Promise<string> {
    const response = await t.request({ method: 'GET', url: href.slice(PUBLIC_URL.length) });
    expect(response.statusCode, href).toBe(302);
    return String(response.headers.location);
  }

  /**
   * The article's link in a message's HTML, as a path with its query: where the message's click
   * links to that article lead (test/clicks.spec.ts), one and the same for the whole message.
   */
  async function articleLink(mail: ReceivedMail, slug: string): Promise<string> {
    const hrefs = load(String(mail.parsed.html))('a')
      .map((_, a) => a.attribs.href ?? '')
      .get()
      .filter((href) => href.startsWith(`${PUBLIC_URL}/r/`));
    const targets = new Set(
      (await Promise.all(hrefs.map(followed))).filter((target) =>
        target.startsWith(`${PUBLIC_URL}/articles/${slug}`),
      ),
    );
    expect(targets.size).toBe(1);
    const url = new URL([...targets][0]!);
    return `${url.pathname}${url.search}`;
  }

  beforeAll(async () => {
    premiumReader = await addMember(t, 'lectrice-premium@exemple.fr', 'premium');
    await addMember(t, 'lecteur-gratuit@exemple.fr', 'free');
    editionId = (await scheduledEdition(t, article.id)).id;
    expect((await finished(t, editionId)).status).toBe('sent');
    premiumMail = (await sink.waitFor('lectrice-premium@exemple.fr'))[0]!;
    freeMail = (await sink.waitFor('lecteur-gratuit@exemple.fr'))[0]!;
  });

  it("opens the article in full for the premium reader who follows their email's link, and no one else", async () => {
    const link = await articleLink(premiumMail, article.slug);
    expect(link).toMatch(new RegExp(`^/articles/${article.slug}\\?edition=${editionId}&reader=[\\w.-]+$`));
    // The text part carries a link to the same place.
    const textLinks =
      String(premiumMail.parsed.text).match(/https:\/\/blog\.example\.test\/r\/[\w.-]+/g) ?? [];
    expect(await Promise.all(textLinks.map(followed))).toContain(`${PUBLIC_URL}${link}`);

    const opened = await get(link);
    expect(opened.statusCode).toBe(200);
    expect(opened.body).toContain(CANARY_MARK);
    expect(paywallOf(opened.body)).toBe('none');
    expect(opened.headers['cache-control']).toBe('private, no-store');
    expect(opened.headers['x-robots-tag']).toBe('noindex');
    expect(opened.headers['referrer-policy']).toBe('no-referrer');
    // The link signs nobody in: the next page without it is a stranger's.
    expect(opened.headers['set-cookie']).toBeUndefined();
    expect((await get(`/articles/${article.slug}`)).body).not.toContain(CANARY_MARK);

    // The same token opens no other article, and a tampered one opens nothing.
    const query = new URL(link, PUBLIC_URL).search;
    const elsewhere = await get(`/articles/${otherArticle.slug}${query}`);
    expect(elsewhere.statusCode).toBe(200);
    expect(elsewhere.body).not.toContain(CANARY_MARK);
    const token = new URL(link, PUBLIC_URL).searchParams.get('reader')!;
    const last = token.at(-1) === 'a' ? 'b' : 'a';
    for (const forged of [
      link.replace(token, `${token.slice(0, -1)}${last}`),
      link.replace(editionId, '00000000-0000-4000-8000-000000000000'),
      link.replace(token, 'x'.repeat(500)),
      `${link}&reader=autre`,
    ]) {
      const answer = await get(forged);
      expect(answer.statusCode, forged).toBe(200);
      expect(answer.body, forged).not.toContain(CANARY_MARK);
      expect(paywallOf(answer.body), forged).toBe('subscribe');
    }

    // A free reader's link leads to the teaser and offers the upgrade.
    const freeLink = await articleLink(freeMail, article.slug);
    const free = await get(freeLink);
    expect(free.body).not.toContain(CANARY_MARK);
    expect(paywallOf(free.body)).toBe('upgrade');
    expect(free.headers['cache-control']).toBe('private, no-store');
  });

  it('follows the reader’s tier now, not the one the email went out with', async () => {
    const link = await articleLink(premiumMail, article.slug);
    await setTier(premiumReader, 'free');
    const after = await get(link);
    expect(after.body).not.toContain(CANARY_MARK);
    expect(paywallOf(after.body)).toBe('upgrade');
    await setTier(premiumReader, 'premium');
    expect((await get(link)).body).toContain(CANARY_MARK);
  });

  it("keeps the reader's token in the web version's article links, and out of the public one", async () => {
    const webVersion = load(String(premiumMail.parsed.html))(`a[href*="/editions/${editionId}/"]`).attr(
      'href',
    );
    expect(webVersion).toBeDefined();
    const personal = await get(new URL(webVersion!).pathname);
    expect(personal.statusCode).toBe(200);
    const personalLinks = load(personal.body)(`a[href^="${PUBLIC_URL}/articles/${article.slug}"]`)
      .map((_, a) => a.attribs.href)
      .get();
    expect(personalLinks.length).toBeGreaterThan(0);
    for (const href of personalLinks) {
      const answer = await get(new URL(href).pathname + new URL(href).search);
      expect(answer.body).toContain(CANARY_MARK);
    }

    const open = await get(`/editions/${editionId}`);
    expect(open.statusCode).toBe(200);
    expect(open.body).not.toContain(CANARY_MARK);
    expect(open.body).not.toContain('reader=');
    expect(open.body).not.toContain('%%DEPECHE');
    expect(load(open.body)(`a[href="${PUBLIC_URL}/articles/${article.slug}"]`).length).toBeGreaterThan(0);
  });
});
