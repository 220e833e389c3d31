import { load } from 'cheerio';
import { and, eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rowsOf } from '../src/database/database-client.js';
import { linkClicks } from '../src/database/schema.js';
import { ClickRedirect } from '../src/feedback/click-redirect.js';
import { SubscriberTokens } from '../src/mail/subscriber-tokens.js';
import { articleWithLink, clickedLater, hrefsOf, REPORT_URL } from './helpers/clicks.js';
import { seedAudience } from './helpers/audience.js';
import { FAST_PIPELINE, finished, scheduledEdition } from './helpers/editions.js';
import { eventually, type SmtpSink, startSmtpSink } from './helpers/smtp-sink.js';
import { DeskClient } from './helpers/desk.js';
import { PUBLIC_URL, startTestApp, subscriberByEmail, type TestApp } from './helpers/test-app.js';

const BROWSER = 'Mozilla/5.0 (iPhone; CPU iPhone OS 18_0 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148';

describe('click tracking', () => {
  let t: TestApp;
  let sink: SmtpSink;
  let editionId: string;
  let slug: string;
  let articleId: string;
  let free: string[];
  let premium: string[];

  const later = (href: string): string => clickedLater(t, href, 60);
  let deskOwner: DeskClient | undefined;

  async function countsOf(linkUrlPart?: string) {
    await t.app.get(ClickRedirect).flush();
    const rows = await t.database.db.execute(sql`
      select c.subscriber_id, c.clicks, c.scanner_clicks, l.url from link_clicks c
      join edition_links l on l.edition_id = c.edition_id and l.link_id = c.link_id
      where c.edition_id = ${editionId}`);
    return rowsOf<{ subscriber_id: string; clicks: number; scanner_clicks: number; url: string }>(
      rows,
    ).filter((row) => linkUrlPart === undefined || row.url.includes(linkUrlPart));
  }

  beforeAll(async () => {
    sink = await startSmtpSink();
    t = await startTestApp({ SMTP_URL: sink.url, ...FAST_PIPELINE });
    const article = (await t.api('POST', '/api/articles', articleWithLink())).json();
    await t.api('POST', `/api/articles/${article.id}/publish`);
    slug = article.slug;
    articleId = article.id;
    ({ free, premium } = await seedAudience(t, { free: 5, premium: 1 }, 'clic'));
    editionId = (await scheduledEdition(t, article.id)).id;
    await finished(t, editionId);
  });

  afterAll(async () => {
    await t.close();
    await sink.close();
  });

  it('sends every web link through the redirect, and never the unsubscribe, preferences or web-version links', async () => {
    const [mail] = await sink.waitFor(free[0]!, 1);
    const hrefs = hrefsOf(mail!).filter((href) => href.startsWith('http'));
    const own = hrefs.filter((href) => /\/(unsubscribe|preferences|editions)\//.test(href));
    expect(own.length).toBeGreaterThanOrEqual(3);
    const others = hrefs.filter((href) => !own.includes(href));
    expect(others.length).toBeGreaterThanOrEqual(3);
    for (const href of others) expect(href.startsWith(`${PUBLIC_URL}/r/`), href).toBe(true);
    expect(String(mail!.parsed.text)).not.toContain(REPORT_URL);
    expect(String(mail!.parsed.html)).not.toContain('syriahr.com');
  });

  it('redirects only to the links the edition had: the article at the reader’s tier, the report as written', async () => {
    const [mail] = await sink.waitFor(premium[0]!, 1);
    const targets = new Set<string>();
    for (const href of hrefsOf(mail!).filter((h) => h.startsWith(`${PUBLIC_URL}/r/`))) {
      const response = await t.request({
        method: 'GET',
        url: later(href),
        headers: { 'user-agent': BROWSER },
      });
      expect(response.statusCode).toBe(302);
      expect(response.headers['cache-control']).toBe('no-store');
      targets.add(String(response.headers.location));
    }
    expect(targets).toContain(REPORT_URL);
    const article = [...targets].find((target) => target.startsWith(`${PUBLIC_URL}/articles/${slug}?`));
    expect(article).toBeDefined();
    // The reader token the redirect adds opens the article in full for this premium reader.
    const page = await t.request({ method: 'GET', url: article!.slice(PUBLIC_URL.length) });
    expect(page.body).toContain('CANARI-7f3e9b');
  });

  it('refuses a tampered link, a link of another edition, and any URL the request names', async () => {
    const [mail] = await sink.waitFor(free[1]!, 1);
    const href = hrefsOf(mail!).find((h) => h.startsWith(`${PUBLIC_URL}/r/`))!;
    const token = later(href).slice('/r/'.length);
    const parts = token.split('.');
    const tokens = t.app.get(SubscriberTokens);
    const click = tokens.verifyClickToken(token)!;
    const flip = (text: string) => (text.startsWith('a') ? `b${text.slice(1)}` : `a${text.slice(1)}`);
    const tampered = [
      [parts[0], parts[1], parts[2], parts[3], flip(parts[4]!)],
      [parts[0], flip(parts[1]!), parts[2], parts[3], parts[4]],
      [parts[0], parts[1], flip(parts[2]!), parts[3], parts[4]],
    ].map((p) => p.join('.'));
    const unknownLink = tokens.clickToken({ ...click, linkId: 'AAAAAAAAAA' });
    for (const bad of [...tampered, unknownLink, 'nimporte-quoi', `${token}x`]) {
      const response = await t.request({ method: 'GET', url: `/r/${bad}`, headers: { accept: 'text/html' } });
      expect(response.statusCode, bad).toBe(404);
      expect(response.headers.location).toBeUndefined();
      expect(response.body).toContain('<html lang="fr">');
    }
    const open = await t.request({
      method: 'GET',
      url: `/r/${token}?url=https://evil.example/`,
      headers: { 'user-agent': BROWSER },
    });
    expect(open.headers.location).not.toContain('evil');
  });

  it('counts every one of 1,000 concurrent clicks, per link and reader', async () => {
    const before = await countsOf(REPORT_URL);
    const links = await Promise.all(
      free.map(async (email) => {
        const [mail] = await sink.waitFor(email, 1);
        const hrefs = hrefsOf(mail!).filter((h) => h.startsWith(`${PUBLIC_URL}/r/`));
        // The report's link: the one whose redirect leads to it.
        for (const href of hrefs) {
          const response = await t.request({ method: 'HEAD', url: later(href) });
          if (response.headers.location === REPORT_URL) return later(href);
        }
        throw new Error(`no link to the report for ${email}`);
      }),
    );
    await Promise.all(
      Array.from({ length: 1000 }, (_, n) =>
        t.request({ method: 'GET', url: links[n % links.length]!, headers: { 'user-agent': BROWSER } }),
      ),
    );
    const clickedBefore = before.reduce((sum, row) => sum + row.clicks, 0);
    const rows = await eventually(async () => {
      const counts = await countsOf(REPORT_URL);
      const total = counts.reduce((sum, row) => sum + row.clicks, 0);
      return total === clickedBefore + 1000 ? counts : undefined;
    });
    const ids = new Set(
      await Promise.all(free.map(async (email) => (await subscriberByEmail(t, email))!.id)),
    );
    const readers = rows.filter((row) => ids.has(row.subscriber_id));
    expect(readers).toHaveLength(5);
    for (const row of readers) expect(row.clicks).toBe(200);
    // The HEAD requests that found the link are a scanner's, counted apart.
    expect(rows.reduce((sum, row) => sum + row.scanner_clicks, 0)).toBeGreaterThan(
      before.reduce((s, r) => s + r.scanner_clicks, 0),
    );
  });

  it('counts scanners apart: HEAD requests, known scanner agents, and follows within seconds of delivery', async () => {
    const [mail] = await sink.waitFor(free[4]!, 1);
    const href = hrefsOf(mail!).find((h) => h.startsWith(`${PUBLIC_URL}/r/`))!;
    const fresh = href.slice(PUBLIC_URL.length);
    const before = await countsOf();
    const clicksBefore = before.reduce((s, r) => s + r.clicks, 0);
    const scansBefore = before.reduce((s, r) => s + r.scanner_clicks, 0);
    await t.request({ method: 'HEAD', url: later(href), headers: { 'user-agent': BROWSER } });
    await t.request({
      method: 'GET',
      url: later(href),
      headers: { 'user-agent': 'Mozilla/5.0 (compatible; Barracuda Sentinel)' },
    });
    // The copy was just sent: a follow now is a link checker's, not a reader's.
    const token = t.app.get(SubscriberTokens).verifyClickToken(fresh.slice(3))!;
    const now = `/r/${t.app.get(SubscriberTokens).clickToken({ ...token, sentAt: Math.floor(Date.now() / 1000) })}`;
    expect(
      (await t.request({ method: 'GET', url: now, headers: { 'user-agent': BROWSER } })).statusCode,
    ).toBe(302);
    const after = await countsOf();
    expect(after.reduce((s, r) => s + r.clicks, 0)).toBe(clicksBefore);
    expect(after.reduce((s, r) => s + r.scanner_clicks, 0)).toBe(scansBefore + 3);
  });

  it('keeps a reader’s clicks in their data export and removes them with erasure', async () => {
    const [mail] = await sink.waitFor(free[2]!, 1);
    const manage = hrefsOf(mail!)
      .find((h) => h.includes('/preferences/'))!
      .split('/preferences/')[1]!;
    const exported = (await t.request({ method: 'GET', url: `/preferences/${manage}/export` })).json();
    expect(exported.clicks).toContainEqual(
      expect.objectContaining({ url: REPORT_URL, clicks: 200, first_at: expect.any(String) }),
    );
    await t.request({ method: 'POST', url: `/preferences/${manage}/erase` });
    const left = await t.database.db
      .select()
      .from(linkClicks)
      .where(and(eq(linkClicks.editionId, editionId)));
    expect(left.filter((row) => row.clicks === 200)).toHaveLength(4);
  });

  it('can be turned off on the desk: the next edition links straight to its targets', async () => {
    const desk = new DeskClient(t);
    await desk.setUp();
    deskOwner = desk;
    const page = await desk.get('/admin/editions');
    expect(page.body).toContain('name="clicks" value="on" checked');
    const saved = await desk.submit('/admin/editions', '/admin/editions/tracking', {});
    expect(saved.statusCode).toBe(303);
    expect((await desk.get('/admin/editions')).body).not.toContain('value="on" checked');

    const next = await scheduledEdition(t, articleId);
    await finished(t, next.id);
    const mail = (await sink.waitFor(free[0]!, 2)).find((m) => m.parsed.messageId?.includes(next.id))!;
    const hrefs = hrefsOf(mail).filter((href) => href.startsWith('http'));
    expect(hrefs.some((href) => href.includes('/r/'))).toBe(false);
    expect(hrefs).toContain(REPORT_URL);
    expect(
      hrefs.some((href) => href.startsWith(`${PUBLIC_URL}/articles/${slug}?edition=${next.id}&reader=`)),
    ).toBe(true);
  });

  it('counts opens only once an editor turns the pixel on, and calls them unreliable', async () => {
    const [first] = await sink.waitFor(free[1]!, 1);
    expect(String(first!.parsed.html)).not.toContain(`${PUBLIC_URL}/o/`);
    const desk = deskOwner ?? new DeskClient(t);
    if (!deskOwner) await desk.setUp();
    const page = await desk.get('/admin/editions');
    expect(page.body).toContain('Désactivé par défaut, et peu fiable');
    expect(load(page.body)('input[name="opens"]').is(':checked')).toBe(false);
    // Clicks stay off (the test before); opens on.
    expect(
      (await desk.submit('/admin/editions', '/admin/editions/tracking', { opens: 'on' })).statusCode,
    ).toBe(303);
    expect(load((await desk.get('/admin/editions')).body)('input[name="opens"]').is(':checked')).toBe(true);

    const next = await scheduledEdition(t, articleId);
    await finished(t, next.id);
    const mail = (await sink.waitFor(free[1]!, 3)).find((m) => m.parsed.messageId?.includes(next.id))!;
    const pixel = load(String(mail.parsed.html))('img[width="1"][height="1"]').attr('src') ?? '';
    expect(pixel.startsWith(`${PUBLIC_URL}/o/`)).toBe(true);
    const tokens = t.app.get(SubscriberTokens);
    const view = tokens.verifyClickToken(pixel.split('/o/')[1]!)!;
    expect(view.linkId).toBe('open-pixel');
    // Opened an hour after it arrived, twice; a scanner's fetch on arrival is counted apart.
    const opened = `/o/${tokens.clickToken({ ...view, sentAt: view.sentAt - 3600 })}`;
    for (let n = 0; n < 2; n += 1) {
      const response = await t.request({ method: 'GET', url: opened, headers: { 'user-agent': BROWSER } });
      expect(response.statusCode).toBe(200);
      expect(response.headers['content-type']).toBe('image/gif');
      expect(response.headers['cache-control']).toBe('no-store, private');
    }
    expect((await t.request({ method: 'GET', url: pixel.slice(PUBLIC_URL.length) })).statusCode).toBe(200);
    const forged = opened.slice(0, -1) + (opened.endsWith('a') ? 'b' : 'a');
    expect((await t.request({ method: 'GET', url: forged })).statusCode).toBe(404);
    // The pixel's token leads nowhere as a click.
    expect((await t.request({ method: 'GET', url: opened.replace('/o/', '/r/') })).statusCode).toBe(404);

    await t.app.get(ClickRedirect).flush();
    const report = load((await desk.get(`/admin/editions/${next.id}`)).body);
    expect(report('#report-opens').text()).toBe('2 · 1 lecteurs');
    const csv = (await desk.get(`/admin/editions/${next.id}/report.csv`)).body;
    expect(csv).toContain('figure,readers_who_clicked,0');
    expect(csv).toContain('figure,opens_unreliable,2');
    const subscriber = await subscriberByEmail(t, free[1]!);
    expect((await desk.get(`/admin/subscribers/${subscriber!.id}`)).body).toContain(
      'Ouverture (pixel, peu fiable)',
    );
    // The web version is read on the blog: no pixel there.
    const web = hrefsOf(mail).find((href) => href.startsWith(`${PUBLIC_URL}/editions/`));
    expect((await t.request({ method: 'GET', url: web!.slice(PUBLIC_URL.length) })).body).not.toContain(
      '/o/',
    );
  });
});
