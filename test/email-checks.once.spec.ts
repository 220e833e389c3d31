import { execFileSync, spawnSync } from 'node:child_process';
import mjml2html from 'mjml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withoutIndentation } from '../src/mail/compact-html.js';
import { seedAudience } from './helpers/audience.js';
import { launchChromium } from './helpers/browser.js';
import { FAST_PIPELINE, finished, publishedArticle, scheduledEdition } from './helpers/editions.js';
import { type ReceivedMail, type SmtpSink, startSmtpSink } from './helpers/smtp-sink.js';
import { startTestApp, type TestApp } from './helpers/test-app.js';

/**
 * SpamAssassin's own rules, run locally (-L: no network tests), on one message of every kind the
 * service sends. Any rule with a positive score is a defect of ours: receivers add those points.
 */
function positiveRules(raw: Buffer): string[] {
  const run = spawnSync('spamassassin', ['-L', '-t'], { input: raw, maxBuffer: 16 * 1024 * 1024 });
  if (run.status !== 0 && run.stdout.length === 0)
    throw new Error(`spamassassin failed: ${run.stderr.toString()}`);
  const report = run.stdout.toString('utf8');
  const table = report.slice(report.lastIndexOf('Content analysis details:'));
  // " 1.0 HTML_FONT_LOW_CONTRAST  BODY: HTML font color similar or identical to background"
  return [...table.matchAll(/^\s*(-?\d+(?:\.\d+)?)\s+([A-Z0-9_]+)\s/gm)]
    .filter((match) => Number(match[1]) > 0)
    .map((match) => `${match[2]} (${match[1]})`);
}

function hasSpamAssassin(): boolean {
  try {
    execFileSync('spamassassin', ['-V'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** The width an email's HTML takes in Chromium, and its widest image, at a given window width. */
async function widthsIn(html: string, viewport: number): Promise<{ page: number; image: number }> {
  const browser = await launchChromium();
  try {
    const page = await browser.newPage({
      viewport: { width: viewport, height: 800 },
      javaScriptEnabled: false,
    });
    // Offline, but for the article's images: each is drawn at the natural size it declares.
    await page.route('**/*', (route) =>
      route.request().resourceType() === 'image'
        ? route.fulfill({
            contentType: 'image/svg+xml',
            body: '<svg xmlns="http://www.w3.org/2000/svg" width="1700" height="500"><rect width="1700" height="500" fill="#888"/></svg>',
          })
        : route.abort(),
    );
    await page.setContent(html, { waitUntil: 'load' });
    return await page.evaluate<{ page: number; image: number }>(`({
      page: document.documentElement.scrollWidth,
      image: Math.max(0, ...[...document.querySelectorAll('img')].map((img) => img.getBoundingClientRect().width)),
    })`);
  } finally {
    await browser.close();
  }
}

/**
 * What a reader sees of an email's HTML in Chromium: its text, and where every element is drawn
 * (tag and box, in document order) at a desk's width and a phone's.
 */
async function drawn(html: string): Promise<unknown[]> {
  const browser = await launchChromium();
  try {
    const views: unknown[] = [];
    for (const width of [1280, 390]) {
      const page = await browser.newPage({ viewport: { width, height: 800 }, javaScriptEnabled: false });
      await page.route('**/*', (route) => route.abort());
      await page.setContent(html, { waitUntil: 'load' });
      views.push(
        await page.evaluate(`({
          text: document.body.innerText,
          boxes: [...document.body.querySelectorAll('*')].map((element) => {
            const box = element.getBoundingClientRect();
            return [element.tagName, box.x, box.y, box.width, box.height].join(' ');
          }),
        })`),
      );
      await page.close();
    }
    return views;
  } finally {
    await browser.close();
  }
}

/** The lines of the HTML, outside its <pre> elements, that start with HTML's white space or are blank. */
function indentedLines(html: string): string[] {
  return html
    .replace(/\n$/, '')
    .replace(/<pre\b[\s\S]*?<\/pre>/gi, '<pre></pre>')
    .split('\n')
    .filter((line) => /^[ \t\f\r]/.test(line) || line === '');
}

describe('the HTML of an email', () => {
  it('drops MJML’s indentation and blank lines without changing what a reader sees', async () => {
    const { html } = await mjml2html(`<mjml><mj-body><mj-section><mj-column>
      <mj-text><p>Un <em>premier</em>
        paragraphe, <a href="https://blog.example.test/a">un lien</a>
        et <strong>du gras</strong>
        \u202f: une espace fine insécable, qui est du texte.</p>

        <pre><code>si (vrai) {
    retour 1;
        }</code></pre>
        <ul>
          <li>un</li>
          <li>deux</li>
        </ul></mj-text>
      <mj-button href="https://blog.example.test/b">Lire la suite</mj-button>
      <mj-divider />
      <mj-text>Fin.</mj-text>
    </mj-column></mj-section></mj-body></mjml>`);
    const compact = withoutIndentation(html);
    expect(indentedLines(html).length).toBeGreaterThan(10);
    expect(indentedLines(compact)).toEqual([]);
    expect(compact).toContain('<pre><code>si (vrai) {\n    retour 1;\n        }</code></pre>');
    expect(compact).toContain('</strong>\n\u202f: une espace');
    expect(Buffer.byteLength(compact)).toBeLessThan(Buffer.byteLength(html) * 0.85);
    expect(await drawn(compact)).toEqual(await drawn(html));
  });
});

describe('every kind of message, through SpamAssassin’s local rules', () => {
  let t: TestApp;
  let sink: SmtpSink;
  beforeAll(async () => {
    // `.ci/run` and the README's test command install it; say so rather than skip silently.
    if (!hasSpamAssassin()) throw new Error('spamassassin is missing: apt-get install -y spamassassin');
    sink = await startSmtpSink();
    t = await startTestApp({ SMTP_URL: sink.url, ...FAST_PIPELINE });
  });
  afterAll(async () => {
    await t.close();
    await sink.close();
  });

  it('fires no rule with a positive score', async () => {
    const kinds = new Map<string, ReceivedMail>();
    const email = 'lectrice.spam@exemple.fr';
    await t.request({
      method: 'POST',
      url: '/subscribe',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: new URLSearchParams({ email, name: 'Éloïse Dupont' }).toString(),
    });
    const [confirmation] = await sink.waitFor(email);
    kinds.set('confirmation', confirmation!);
    const link = /https:\/\/blog\.example\.test(\/confirm\/[A-Za-z0-9_.-]+)/.exec(
      confirmation!.parsed.text ?? '',
    );
    await t.request({ method: 'POST', url: link![1]! });
    kinds.set('welcome', (await sink.waitFor(email, 2))[1]!);
    await t.request({
      method: 'POST',
      url: '/sign-in',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: new URLSearchParams({ email }).toString(),
    });
    kinds.set('sign-in link', (await sink.waitFor(email, 3))[2]!);

    const article = await publishedArticle(t);
    const audience = await seedAudience(t, { free: 1, premium: 1 }, 'spam');
    const edition = await scheduledEdition(t, article.id);
    expect(await finished(t, edition.id)).toMatchObject({ status: 'sent' });
    kinds.set('free edition', sink.to(audience.free[0]!)[0]!);
    kinds.set('premium edition', sink.to(audience.premium[0]!)[0]!);
    const test = await t.api('POST', `/api/editions/${edition.id}/test`, {
      email: 'redaction@exemple.fr',
      tier: 'premium',
    });
    expect(test.statusCode).toBeLessThan(300);
    kinds.set('test send', (await sink.waitFor('redaction@exemple.fr'))[0]!);

    // Every kind sent without the layout's indentation.
    for (const [kind, mail] of kinds) expect(indentedLines(mail.parsed.html as string), kind).toEqual([]);
    const fired = Object.fromEntries([...kinds].map(([kind, mail]) => [kind, positiveRules(mail.raw)]));
    expect(fired).toEqual(Object.fromEntries([...kinds.keys()].map((kind) => [kind, []])));
  });

  it('keeps an article’s wide image and its tables within the email, on a desk and on a phone', async () => {
    const created = await t.api('POST', '/api/articles', {
      title: 'Carte du front',
      lede: 'Où en sont les lignes.',
      body_md:
        'Une carte.\n\n<img src="https://images.example.test/carte.png" width="1700" height="500" alt="Carte">\n\n' +
        '| colonne | ' +
        'très longue valeur sans espace '.repeat(12) +
        '|\n|---|---|\n| a | b |\n\n```\nsi (vrai) {\n    retour 1;\n}\n```\n',
      access: 'public',
    });
    expect(created.statusCode).toBe(201);
    await t.api('POST', `/api/articles/${created.json().id}/publish`);
    const audience = await seedAudience(t, { free: 0, premium: 1 }, 'largeur');
    const edition = await scheduledEdition(t, created.json().id as string);
    expect(await finished(t, edition.id)).toMatchObject({ status: 'sent' });
    const [mail] = sink.to(audience.premium[0]!);
    const html = mail!.parsed.html as string;
    // Sent without the layout's indentation, the article's code block as it was written (the
    // layout's partials once indented every line of it but the first).
    expect(indentedLines(html)).toEqual([]);
    expect(html).toContain('si (vrai) {\n    retour 1;\n}');
    const desk = await widthsIn(html, 1280);
    expect(desk.image).toBeGreaterThan(100);
    expect(desk.image).toBeLessThanOrEqual(600);
    expect(desk.page).toBeLessThanOrEqual(1280);
    const phone = await widthsIn(html, 390);
    expect(phone.image).toBeLessThanOrEqual(390);
    expect(phone.page).toBeLessThanOrEqual(390);
  });
});
