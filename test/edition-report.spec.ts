import { load } from 'cheerio';
import { parse } from 'csv-parse/sync';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ClickRedirect } from '../src/feedback/click-redirect.js';
import { InboundMailServer } from '../src/feedback/inbound-mail.server.js';
import { FeedbackRetention } from '../src/delivery/feedback-retention.js';
import { rowsOf } from '../src/database/database-client.js';
import { sql } from 'drizzle-orm';
import { articleWithLink, clickedLater, hrefsOf, REPORT_URL } from './helpers/clicks.js';
import { seedAudience } from './helpers/audience.js';
import { DeskClient } from './helpers/desk.js';
import { FAST_PIPELINE, finished, scheduledEdition } from './helpers/editions.js';
import { fromCorpus, INBOUND_ENV, sendInbound } from './helpers/inbound.js';
import { type ReceivedMail, type SmtpSink, startSmtpSink } from './helpers/smtp-sink.js';
import { PUBLIC_URL, startTestApp, subscriberByEmail, type TestApp } from './helpers/test-app.js';

const BROWSER = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/131 Safari/537.36';

describe("an edition's report on the desk", () => {
  let t: TestApp;
  let sink: SmtpSink;
  let editionId: string;
  let desk: DeskClient;
  let emails: string[];

  /** A reader's click on the n-th tracked link of their copy, an hour after it was sent. */
  async function click(mail: ReceivedMail, target: string): Promise<void> {
    for (const href of hrefsOf(mail).filter((h) => h.startsWith(`${PUBLIC_URL}/r/`))) {
      const path = clickedLater(t, href);
      const head = await t.request({ method: 'HEAD', url: path });
      if (String(head.headers.location).startsWith(target)) {
        await t.request({ method: 'GET', url: path, headers: { 'user-agent': BROWSER } });
        return;
      }
    }
    throw new Error(`no link to ${target}`);
  }

  beforeAll(async () => {
    sink = await startSmtpSink();
    t = await startTestApp({
      SMTP_URL: sink.url,
      ...INBOUND_ENV,
      ...FAST_PIPELINE,
    });
    const article = (await t.api('POST', '/api/articles', articleWithLink())).json();
    await t.api('POST', `/api/articles/${article.id}/publish`);
    const { free } = await seedAudience(t, { free: 10, premium: 0 }, 'bilan');
    emails = free;
    editionId = (await scheduledEdition(t, article.id)).id;
    await finished(t, editionId);
    const mails = await Promise.all(free.map(async (email) => (await sink.waitFor(email, 1))[0]!));
    const port = t.app.get(InboundMailServer).port!;
    // One hard bounce, one complaint, one unsubscribe by the page's link, and three readers who click.
    const [bounced, complaining, leaving, ...readers] = mails;
    const copy = (mail: ReceivedMail) => ({
      VERP: mail.envelopeFrom,
      FEEDBACK_ADDRESS: INBOUND_ENV.VERP_ADDRESS,
      RECIPIENT: mail.envelopeTo[0]!,
      MESSAGE_ID: `<${mail.parsed.messageId!.replace(/^<|>$/g, '')}>`,
    });
    await sendInbound(port, bounced!.envelopeFrom, fromCorpus('postfix-user-unknown.eml', copy(bounced!)));
    await sendInbound(port, INBOUND_ENV.VERP_ADDRESS, fromCorpus('arf-yahoo-abuse.eml', copy(complaining!)));
    const unsubscribe = hrefsOf(leaving!).find((href) => href.includes('/unsubscribe/'))!;
    const left = await t.request({
      method: 'POST',
      url: unsubscribe.slice(PUBLIC_URL.length),
      payload: 'List-Unsubscribe=One-Click',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    expect(left.statusCode).toBe(200);
    for (const reader of readers.slice(0, 3)) await click(reader, REPORT_URL);
    await click(readers[0]!, REPORT_URL);
    await click(readers[0]!, `${PUBLIC_URL}/articles/`);
    // Clicks reach the database within a second; the report reads them from there.
    await t.app.get(ClickRedirect).flush();
    desk = new DeskClient(t);
    await desk.setUp();
  });

  afterAll(async () => {
    await t.close();
    await sink.close();
  });

  it('shows delivered, bounces, complaints, unsubscribes and clicks per link, with a timeline', async () => {
    const page = await desk.get(`/admin/editions/${editionId}`);
    expect(page.statusCode).toBe(200);
    const $ = load(page.body);
    const report = $('[data-testid="edition-report"]');
    const figures = Object.fromEntries(
      report
        .find('.figures > div')
        .map((_, div) => [[$(div).find('dt').text(), $(div).find('dd').text()]])
        .get() as [string, string][],
    );
    expect(figures).toMatchObject({
      Délivrés: '9',
      'Rebonds définitifs': '1',
      'Rebonds temporaires': '0',
      Plaintes: '1',
      Désinscriptions: '1',
      'Lecteurs ayant cliqué': '3',
      Clics: '5',
    });
    const rows: string[][] = report
      .find('tbody tr')
      .get()
      .map((tr) =>
        $(tr)
          .find('td')
          .get()
          .map((td) => $(td).text()),
      );
    expect(rows).toContainEqual([REPORT_URL, '3', '4', expect.any(String)]);
    expect(rows.some((row) => row[0]!.startsWith(`${PUBLIC_URL}/articles/`) && row[2] === '1')).toBe(true);
    expect(report.find('svg.chart rect').length).toBeGreaterThan(0);
    // The reader token an article link gets per click is nobody's on the desk.
    expect(report.text()).not.toContain('%%DEPECHE');
  });

  it('exports the report as CSV', async () => {
    const csv = await desk.get(`/admin/editions/${editionId}/report.csv`);
    expect(csv.headers['content-type']).toContain('text/csv');
    const rows = parse<Record<string, string>>(csv.body, { columns: true });
    const figure = (name: string) => rows.find((row) => row.row === 'figure' && row.name === name)?.count;
    expect(figure('sent')).toBe('10');
    expect(figure('delivered')).toBe('9');
    expect(figure('hard_bounces')).toBe('1');
    expect(figure('complaints')).toBe('1');
    expect(figure('unsubscribes')).toBe('1');
    expect(figure('clicks')).toBe('5');
    expect(rows).toContainEqual(
      expect.objectContaining({ row: 'link', name: REPORT_URL, count: '4', readers: '3' }),
    );
  });

  it('warns on the dashboard when complaints pass the rate Gmail allows', async () => {
    const page = await desk.get('/admin');
    const $ = load(page.body);
    const section = $('[data-testid="deliverability"]');
    expect(section.find('[role="alert"]').text()).toContain('dépasse ces seuils');
    const row = section
      .find('tbody tr')
      .first()
      .find('td')
      // French puts a no-break space before the percent sign (which one depends on ICU's version).
      .map((_, td) => $(td).text().trim().replace(/\s/g, ' '))
      .get();
    expect(row).toEqual([expect.any(String), '10', '10 %', '10 %']);
    expect(section.find('td.over')).toHaveLength(2);
  });

  it("shows each subscriber's history: sent, bounced or complained, unsubscribed, clicked", async () => {
    const historyOf = async (email: string) => {
      const subscriber = (await subscriberByEmail(t, email))!;
      const page = await desk.get(`/admin/subscribers/${subscriber.id}`);
      expect(page.statusCode).toBe(200);
      const $ = load(page.body);
      return $('[data-testid="subscriber-history"] li')
        .get()
        .map(
          (li) =>
            $(li).find('.history__what').text().replace(/\s+/g, ' ').trim() +
            ' | ' +
            $(li).find('.history__detail').text(),
        );
    };
    const [bounced, complaining, leaving, reader] = emails;
    const bouncedHistory = await historyOf(bounced!);
    expect(bouncedHistory.slice(0, 2)).toEqual([
      expect.stringMatching(/^Rebond définitif \(par courrier\) \| 5\.1\.1/),
      'Édition envoyée | ',
    ]);
    // Seeded rows are created and confirmed in the same instant: their order is the clock's.
    expect(bouncedHistory.slice(2).sort()).toEqual(['Adresse confirmée | ', 'Inscription | ']);
    expect((await historyOf(complaining!))[0]).toMatch(/^Plainte pour spam \(par courrier\) \| abuse/);
    expect((await historyOf(leaving!))[0]).toMatch(/^Désinscription \(par lien\)/);
    const clicked = await historyOf(reader!);
    expect(clicked).toContainEqual(`Clic × 2 | ${REPORT_URL}`);
    // A change of tier is in the history too.
    const { id } = (await subscriberByEmail(t, reader!))!;
    const changed = await desk.submit(`/admin/subscribers/${id}`, `/admin/subscribers/${id}/tier`, {
      tier: 'premium',
      back: `/admin/subscribers/${id}`,
    });
    expect(changed.statusCode).toBe(303);
    const $ = load((await desk.get(`/admin/subscribers/${id}`)).body);
    const latest = $('[data-testid="subscriber-history"] li').first().text().replace(/\s+/g, ' ');
    expect(latest).toContain('Formule changée Gratuite → Premium (par la rédaction)');
    // The list links each address to its page.
    const list = await desk.get('/admin/subscribers');
    const subscriber = (await subscriberByEmail(t, reader!))!;
    expect(list.body).toContain(`href="/admin/subscribers/${subscriber.id}"`);
  });

  it('folds what came back into totals after the retention period: the report keeps its figures, readers lose their trace', async () => {
    const figuresOf = async () => {
      const $ = load((await desk.get(`/admin/editions/${editionId}`)).body);
      const report = $('[data-testid="edition-report"]');
      return {
        figures: report
          .find('.figures dd')
          .get()
          .map((dd) => $(dd).text()),
        links: report
          .find('tbody tr')
          .get()
          .map((tr) => $(tr).text().replace(/\s+/g, ' ')),
      };
    };
    const before = await figuresOf();
    const retention = t.app.get(FeedbackRetention);
    // Everything up to now is past a retention that ends now; folding twice counts once.
    // Rows of links a reader or a scanner followed: the test's HEAD requests made some.
    expect(await retention.fold(new Date(Date.now() + 1000))).toEqual({
      events: 3,
      clicks: expect.any(Number),
    });
    expect(await retention.fold(new Date(Date.now() + 1000))).toEqual({ events: 0, clicks: 0 });
    expect(await figuresOf()).toEqual(before);
    const left = await t.database.db.execute(
      sql`select (select count(*) from message_events)::int as events, (select count(*) from link_clicks)::int as clicks`,
    );
    expect(rowsOf(left)).toEqual([{ events: 0, clicks: 0 }]);
    const bounced = (await subscriberByEmail(t, emails[0]!))!;
    const history = await desk.get(`/admin/subscribers/${bounced.id}`);
    expect(history.body).not.toContain('Rebond définitif');
    expect(history.body).toContain('Édition envoyée');
  });
});
