import { load } from 'cheerio';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CANARY_MARK } from './fixtures/sample-article.js';
import { articles } from '../src/database/schema.js';
import { addMember } from './helpers/members.js';
import { FAST_PIPELINE, finished, publishedArticle, scheduledEdition } from './helpers/editions.js';
import { type SmtpSink, startSmtpSink } from './helpers/smtp-sink.js';
import { startTestApp, type TestApp } from './helpers/test-app.js';

let t: TestApp;
let sink: SmtpSink;

/** A published article dated at `at`, whatever the clock says. */
async function publishedAt(title: string, at: string): Promise<void> {
  const created = await t.api('POST', '/api/articles', { title, body_md: 'Texte.', access: 'public' });
  const { id } = created.json<{ id: string }>();
  expect((await t.api('POST', `/api/articles/${id}/publish`)).statusCode).toBe(200);
  await t.database.db
    .update(articles)
    .set({ publishedAt: new Date(at) })
    .where(eq(articles.id, id));
}

async function html(url: string) {
  const response = await t.request({ method: 'GET', url, headers: { accept: 'text/html' } });
  return { status: response.statusCode, $: load(response.body), body: response.body };
}

beforeAll(async () => {
  sink = await startSmtpSink();
  t = await startTestApp({ SMTP_URL: sink.url, ...FAST_PIPELINE });
  await publishedAt('Octobre à Damas', '2026-10-15T10:00:00Z');
  // 23:30 in UTC on the 31st is half past midnight on 1 November in Paris: a November article.
  await publishedAt('La Toussaint à Beyrouth', '2026-10-31T23:30:00Z');
  await publishedAt('Novembre à Alep', '2026-11-20T10:00:00Z');
});

afterAll(async () => {
  await t.close();
  await sink.close();
});

describe('the archive by month', () => {
  it('lists every month with articles, in the publication’s time zone, newest first', async () => {
    const { status, $ } = await html('/archives');
    expect(status).toBe(200);
    expect($('.archive-year h2').first().text()).toBe('2026');
    expect(
      $('.archive-months li')
        .map((_, li) => $(li).text().replace(/\s+/g, ' ').trim())
        .get(),
    ).toEqual(['novembre 2026 2 article(s)', 'octobre 2026 1 article(s)']);
    expect($('.archive-months a').first().attr('href')).toBe('https://blog.example.test/archives/2026/11');
  });

  it('shows a month’s articles, and no page for a month without any or that does not exist', async () => {
    const november = await html('/archives/2026/11');
    expect(november.$('h1').text()).toBe('novembre 2026');
    expect(
      november
        .$('.card__title')
        .map((_, title) => november.$(title).text().trim())
        .get(),
    ).toEqual(['Novembre à Alep', 'La Toussaint à Beyrouth']);
    expect((await html('/archives/2025/01')).status).toBe(404);
    expect((await html('/archives/2026/13')).status).toBe(404);
    expect((await html('/archives/26/11')).status).toBe(404);
  });

  it('is linked from every page’s footer, beside the newsletter’s editions and the feed', async () => {
    const { $ } = await html('/');
    expect(
      $('.colophon__links a')
        .map((_, a) => $(a).attr('href'))
        .get(),
    ).toEqual([
      'https://blog.example.test/archives',
      'https://blog.example.test/newsletter',
      'https://blog.example.test/feed',
    ]);
  });
});

describe('the front page', () => {
  it('leads with the latest article, its teaser shown, and lists the others as compact cards', async () => {
    const { $ } = await html('/');
    const cards = $('main .card');
    expect(cards.first().hasClass('card--lead')).toBe(true);
    expect(cards.first().find('.card__title').text().trim()).toBe('Novembre à Alep');
    expect(cards.first().find('.excerpt').length).toBe(1);
    expect($('main .card--compact').length).toBe(cards.length - 1);
    expect($('main .card--compact .excerpt').length).toBe(0);
  });
});

describe('the feed page', () => {
  it('tells a person what the feed is and gives its addresses', async () => {
    const { status, $ } = await html('/feed');
    expect(status).toBe(200);
    expect($('h1').text()).toBe('Suivre la publication par flux RSS');
    expect($('.feed-addresses code').first().text()).toBe('https://blog.example.test/feed.xml');
    expect($('main li a').first().text()).toBe('Novembre à Alep');
  });
});

describe('the newsletter’s public archive', () => {
  it('lists the editions sent, each as free subscribers read it', async () => {
    expect((await html('/newsletter')).$('main').text()).toContain('Aucune édition envoyée pour le moment.');
    const article = await publishedArticle(t);
    await addMember(t, 'lectrice@exemple.fr', 'free');
    const sent = await scheduledEdition(t, article.id, 200, { subject: 'La lettre de novembre' });
    expect((await finished(t, sent.id)).status).toBe('sent');
    const draft = (
      await t.api('POST', '/api/editions', { subject: 'Un brouillon d’édition', article_ids: [article.id] })
    ).json<{ id: string }>();
    expect(draft.id).toBeDefined();

    const archive = await html('/newsletter?page=1');
    const titles = archive
      .$('.card__title a')
      .map((_, a) => `${archive.$(a).text()} ${archive.$(a).attr('href')}`)
      .get();
    expect(titles).toEqual([`La lettre de novembre https://blog.example.test/editions/${sent.id}`]);
    const edition = await t.request({ method: 'GET', url: `/editions/${sent.id}` });
    expect(edition.statusCode).toBe(200);
    expect(edition.body).not.toContain(CANARY_MARK);
    // Read on the web by anyone: no footer that speaks to a subscriber, an invitation instead.
    const web = load(edition.body);
    expect(web.text()).not.toContain('Vous recevez ce message parce que');
    expect(web.text()).toContain('Cette lettre vous a été transférée ?');
    expect(web('a[href="https://blog.example.test/#subscribe-title"]').length).toBe(1);
    // The subscriber's own copy keeps its footer.
    const [mail] = await sink.waitFor('lectrice@exemple.fr');
    expect(mail!.parsed.text).toContain('Vous recevez ce message parce que');
    expect((await html('/newsletter?page=2')).status).toBe(404);
  });
});
