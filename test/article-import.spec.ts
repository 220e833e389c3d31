import { readFileSync } from 'node:fs';
import path from 'node:path';
import { load } from 'cheerio';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { articles, editions } from '../src/database/schema.js';
import { csrfOf, DeskClient } from './helpers/desk.js';
import { eventually } from './helpers/smtp-sink.js';
import { startTestApp, type TestApp } from './helpers/test-app.js';

let t: TestApp;
let desk: DeskClient;
let csrf: string;
let imports = 0;

const fixture = (name: string) => readFileSync(path.join('test/fixtures/imports', name), 'utf8');

/** A file sent from the articles page, as its script sends it. */
function importFile(xml: string, type = 'application/xml') {
  imports += 1;
  return t.request({
    method: 'POST',
    url: `/admin/articles/import?id=article-import-${imports}`,
    headers: { cookie: desk.jar.header(), 'content-type': type, 'x-csrf-token': csrf },
    payload: xml,
  });
}

/** The report's figures and lines, as the page shows them. */
function reportOf(body: string) {
  const $ = load(body);
  return {
    format: $('[data-testid="import-format"]').text(),
    imported: $('[data-testid="import-imported"]').text(),
    drafts: $('[data-testid="import-drafts"]').text(),
    skipped: $('[data-testid="import-skipped"]').text(),
    refused: $('[data-testid="import-refused"]').text(),
    lines: $('tbody tr')
      .map((_, row) =>
        $(row)
          .find('td')
          .map((__, cell) => $(cell).text())
          .get()
          .join(' | '),
      )
      .get(),
    failure: $('[data-testid="import-failure"]').text(),
  };
}

async function article(slug: string) {
  const [row] = await t.database.db.select().from(articles).where(eq(articles.slug, slug));
  return row;
}

beforeAll(async () => {
  // Articles published here would make an edition each: imported ones must not.
  t = await startTestApp({ EDITION_ON_PUBLISH: 'true' });
  desk = new DeskClient(t);
  await desk.setUp();
  csrf = csrfOf((await desk.get('/admin/articles')).body);
});
afterAll(async () => {
  await t.close();
});

describe('importing a WordPress export', () => {
  it('publishes the posts at their dates under their addresses, keeps the draft, passes over the rest', async () => {
    const answer = await importFile(fixture('wordpress.xml'));
    expect(answer.statusCode).toBe(200);
    const report = reportOf(answer.body);
    expect(report).toMatchObject({
      format: 'Export WordPress',
      imported: '2',
      drafts: '1',
      skipped: '2',
      refused: '0',
    });
    expect(report.lines).toEqual([
      "1 | Syrie : Daech s'empare d'Al-Qaryatayn | Publié | 1 image(s) sans description : le nom du fichier en tient lieu, à relire.",
      '2 | Alep, une ville coupée en deux | Publié | ',
      '3 | Brouillon sur Palmyre | Brouillon | ',
      '4 | À propos | Ignoré | Pas un article (page, pièce jointe, menu).',
      '5 | monastere-mar-elian | Ignoré | Pas un article (page, pièce jointe, menu).',
    ]);

    const qaryatayn = await article('syrie-daech-sempare-dal-qaryatayn');
    expect(qaryatayn).toMatchObject({
      status: 'published',
      publishedAt: new Date('2015-08-06T20:12:00Z'),
      tags: ['Syrie', 'Qaryatayn', "Chrétiens d'Orient"],
      author: 'ignace',
      lede: 'L’État islamique a pris, dimanche 1er octobre, le contrôle d’une ville symbolique.',
      access: 'public',
    });
    expect(qaryatayn!.announcedAt).toEqual(qaryatayn!.publishedAt);
    expect(qaryatayn!.bodyMd).toContain('les **musulmans** et les chrétiens');
    expect(qaryatayn!.bodyMd).toContain('<!--more-->');
    expect(qaryatayn!.bodyMd).toContain('## Les églises de la ville');
    expect(qaryatayn!.bodyMd).toContain('[Mar Elian](https://fr.wikipedia.org/wiki/Mar_Elian)');
    expect(qaryatayn!.bodyMd).toMatch(
      /!\[Syrie : Daech s'empare d'Al-Qaryatayn\]\(https:\/\/blog\.example\.test\/media\/[0-9a-f]{16}\/640x360\.jpg\)/,
    );
    expect(qaryatayn!.bodyMd).toContain(
      '![Le monastère de Mar Elian avant sa destruction](https://syrie.blog.example/wp-content/uploads/2015/08/monastere-mar-elian.jpg)',
    );
    // The cut falls where the export put it; the embedded image is served from here.
    expect(qaryatayn!.teaserHtml).not.toContain('Les églises');
    const stored = /\/media\/[0-9a-f]{16}\/480\.webp/.exec(qaryatayn!.bodyHtml)?.[0];
    expect((await t.request({ method: 'GET', url: stored ?? '/media/none' })).statusCode).toBe(200);

    const page = load(
      (await t.request({ method: 'GET', url: '/articles/syrie-daech-sempare-dal-qaryatayn' })).body,
    );
    expect(page('h1').text()).toBe("Syrie : Daech s'empare d'Al-Qaryatayn");
    expect(page('time').first().attr('datetime')).toBe('2015-08-06T20:12:00.000Z');
    expect((await article('brouillon-sur-palmyre'))?.status).toBe('draft');
    expect(await article('a-propos')).toBeUndefined();
    // No edition for the past, whatever EDITION_ON_PUBLISH says: once the tick has made one for
    // an article published now, it has passed over the imported ones, and they have none.
    const fresh = (
      await t.api('POST', '/api/articles', { title: 'Publié aujourd’hui', body_md: 'x' })
    ).json();
    await t.api('POST', `/api/articles/${fresh.id}/publish`);
    const made = await eventually(async () => {
      const rows = await t.database.db.select().from(editions);
      return rows.length > 0 ? rows : undefined;
    });
    expect(made.map((edition) => edition.articleIds)).toEqual([[fresh.id]]);
    await t.api('DELETE', `/api/articles/${fresh.id}`);
  });

  it('adds nothing twice when the same file comes again', async () => {
    const again = reportOf((await importFile(fixture('wordpress.xml'))).body);
    expect(again).toMatchObject({ imported: '0', drafts: '0', skipped: '5' });
    expect(again.lines[0]).toContain('Un article a déjà l’adresse « syrie-daech-sempare-dal-qaryatayn ».');
  });
});

describe('importing feeds', () => {
  it('reads an RSS feed: addresses from the links, dates, tags, authors, and no script', async () => {
    const report = reportOf((await importFile(fixture('feed.rss'), 'application/rss+xml')).body);
    expect(report).toMatchObject({ format: 'Flux RSS', imported: '2', refused: '0' });
    const liban = await article('liban-crise-des-dechets');
    expect(liban).toMatchObject({
      publishedAt: new Date('2016-07-25T05:45:00Z'),
      tags: ['Liban', 'Environnement'],
      author: 'Élise Haddad',
      lede: 'Un an après, Beyrouth cherche toujours où mettre ses ordures.',
    });
    expect(liban!.bodyMd).toContain('> « C’est une honte nationale »');
    expect(liban!.bodyMd).toMatch(/\* {3}Naameh/);
    expect(liban!.bodyMd).not.toContain('alert');
    expect(await article('jordanie-eau')).toMatchObject({ author: 'Karim Nassar', lede: '' });
  });

  it('reads an Atom feed', async () => {
    const atom = `<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom">
  <title>Carnets d’Irak</title>
  <entry>
    <title>Mossoul, la bataille</title>
    <link rel="alternate" href="https://irak.example/carnets/mossoul-la-bataille/"/>
    <published>2016-10-17T06:00:00+03:00</published>
    <author><name>Hélène Sallon</name></author>
    <category term="Irak"/>
    <content type="html">&lt;p&gt;L’offensive a commencé à l’aube.&lt;/p&gt;</content>
  </entry>
</feed>`;
    const report = reportOf((await importFile(atom, 'application/atom+xml')).body);
    expect(report).toMatchObject({ format: 'Flux Atom', imported: '1' });
    expect(await article('mossoul-la-bataille')).toMatchObject({
      publishedAt: new Date('2016-10-17T03:00:00Z'),
      author: 'Hélène Sallon',
      tags: ['Irak'],
      bodyMd: 'L’offensive a commencé à l’aube.',
    });
  });

  it('refuses what is no export nor feed in French, and survives entity bombs, importing nothing', async () => {
    const before = (await t.database.db.select().from(articles)).length;
    const broken = reportOf((await importFile('<rss><channel><item>')).body);
    expect(broken.failure).toBe('Ce fichier n’est pas du XML bien formé.');
    const other = reportOf((await importFile('<?xml version="1.0"?><html><body/></html>')).body);
    expect(other.failure).toBe('Ce fichier n’est ni un export WordPress, ni un flux RSS, ni un flux Atom.');
    const bomb = `<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;"><!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;"><!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">]><rss><channel><item><title>&lol4;</title><link>https://x.example/bombe</link></item></channel></rss>`;
    const exploded = await importFile(bomb);
    expect(exploded.statusCode).toBeLessThan(500);
    expect((await t.database.db.select().from(articles)).length).toBeLessThanOrEqual(before + 1);
    expect((await t.request({ method: 'GET', url: '/health' })).statusCode).toBe(200);
  });
});
