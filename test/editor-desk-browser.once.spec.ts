import { mkdirSync } from 'node:fs';
import { Redis } from 'ioredis';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CANARY_MARK, SAMPLE_BODY_MD, SAMPLE_LEDE, SAMPLE_TITLE } from './fixtures/sample-article.js';
import { formatPublicationTime } from '../src/lib/publication-time.js';
import { ARTIFACTS, launchChromium, screenshotBoth, VIEWPORTS, watch } from './helpers/browser.js';
import { OWNER } from './helpers/desk.js';
import { FAST_PIPELINE } from './helpers/editions.js';
import { freePort } from './helpers/net.js';
import { type SmtpSink, startSmtpSink } from './helpers/smtp-sink.js';
import { startTestApp, type TestApp } from './helpers/test-app.js';
import { PATIENCE_MS } from './helpers/patience.js';
import { ClickRedirect } from '../src/feedback/click-redirect.js';
import { clickedLater, hrefsOf } from './helpers/clicks.js';

const FREE_READERS = ['libre.un@exemple.fr', 'libre.deux@exemple.fr'];
const PREMIUM_READERS = ['abonnee.une@exemple.fr', 'abonne.deux@exemple.fr', 'abonne.trois@exemple.fr'];
const SUBJECT = 'La lettre du dimanche\u00a0: Syrie';

describe('the editor’s desk in a browser', () => {
  let t: TestApp;
  let sink: SmtpSink;
  let browser: Browser;
  let base: string;
  let redis: Redis;
  const shots: string[] = [];

  beforeAll(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    sink = await startSmtpSink();
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    t = await startTestApp({ SMTP_URL: sink.url, PUBLIC_URL: base, ...FAST_PIPELINE });
    await t.app.listen(port, '127.0.0.1');
    redis = new Redis(t.config.redisUrl);
    for (const [emails, tier] of [
      [FREE_READERS, 'free'],
      [PREMIUM_READERS, 'premium'],
    ] as const) {
      for (const email of emails) {
        const created = await t.api('POST', '/api/subscribers', { email, tier, confirmed: true });
        expect(created.statusCode).toBe(201);
      }
    }
    browser = await launchChromium();
  });

  afterAll(async () => {
    await browser.close();
    redis.disconnect();
    await t.close();
    await sink.close();
  });

  async function screenshot(page: Page, name: string): Promise<void> {
    shots.push(...(await screenshotBoth(page, name)));
  }

  async function newPage(context?: BrowserContext): Promise<{ page: Page; problems: string[] }> {
    const page = await (
      context ?? (await browser.newContext({ viewport: VIEWPORTS.desktop, locale: 'fr-FR' }))
    ).newPage();
    page.on('dialog', (dialog) => void dialog.accept());
    return { page, problems: watch(page) };
  }

  it('takes an editor from the first-run setup to a sent edition, with no error on any page', async () => {
    const { page, problems } = await newPage();

    // First run: the desk asks for the owner.
    await page.goto(`${base}/admin`);
    await expect.poll(() => page.url()).toBe(`${base}/admin/setup`);
    await screenshot(page, '01-setup');
    await page.locator('input[name="name"]').fill(OWNER.name);
    await page.locator('input[name="email"]').fill(OWNER.email);
    await page.locator('input[name="password"]').fill(OWNER.password);
    await page.locator('input[name="password_again"]').fill(OWNER.password);
    await page.getByRole('button', { name: 'Créer le compte' }).click();
    await page.waitForURL(`${base}/admin`);
    await expect.poll(() => page.locator('h1').textContent()).toBe('Tableau de bord');

    // An article with a cut, previewed live, then published.
    await page.getByRole('link', { name: 'Articles', exact: true }).click();
    await page.getByRole('link', { name: 'Nouvel article' }).click();
    await page.locator('input[name="title"]').fill(SAMPLE_TITLE);
    await page.locator('textarea[name="lede"]').fill(SAMPLE_LEDE);
    await page.locator('textarea[name="body_md"]').fill(SAMPLE_BODY_MD);
    await page.locator('input[name="tags"]').fill('Syrie, Daech');
    const cut = page.getByTestId('teaser-cut');
    await cut.waitFor();
    await expect
      .poll(() => page.locator('#preview .preview__body--premium').textContent())
      .toContain(CANARY_MARK);
    await expect
      .poll(() => page.locator('#preview .preview__body').first().textContent())
      .not.toContain(CANARY_MARK);
    await screenshot(page, '02-article-editor');
    await page.getByRole('button', { name: 'Publier maintenant' }).click();
    await page.waitForURL(/\/admin\/articles\/[0-9a-f-]+\?saved=1$/);
    await expect.poll(() => page.locator('.badge').first().textContent()).toBe('Publié');
    const publicUrl = await page.locator('a[target="_blank"]').getAttribute('href');
    const publicPage = await (await fetch(publicUrl ?? '')).text();
    expect(publicPage).toContain('Al-Qaryatayn');
    expect(publicPage).not.toContain(CANARY_MARK);
    await page.getByRole('link', { name: 'Articles', exact: true }).click();
    await screenshot(page, '03-articles');

    // An edition of it: both tiers previewed side by side.
    await page.getByRole('link', { name: 'Éditions', exact: true }).click();
    await page.getByRole('link', { name: 'Nouvelle édition' }).click();
    await page.locator('input[name="subject"]').fill(SUBJECT);
    await page.locator('input[name="preheader"]').fill('Daech s’empare d’Al-Qaryatayn');
    await page.getByLabel(SAMPLE_TITLE, { exact: false }).check();
    await screenshot(page, '04-edition-new');
    await page.getByRole('button', { name: 'Créer' }).click();
    await page.waitForURL(/\/admin\/editions\/[0-9a-f-]+$/);
    const free = page.frameLocator('iframe[data-tier="free"]');
    const premium = page.frameLocator('iframe[data-tier="premium"]');
    await expect.poll(() => free.locator('body').textContent()).toContain('Lire la suite');
    await expect.poll(() => premium.locator('body').textContent()).toContain(CANARY_MARK);
    expect(await free.locator('body').textContent()).not.toContain(CANARY_MARK);
    expect(await page.getByTestId('gmail-warning').count()).toBe(0);
    await screenshot(page, '05-edition-draft');

    // A test to myself reaches the SMTP server.
    await page.getByRole('button', { name: 'M’envoyer un test' }).click();
    await page.waitForURL(/\?tested=1$/);
    const [testMail] = await sink.waitFor(OWNER.email, 1);
    expect(testMail?.parsed.subject).toContain(SUBJECT);
    expect(testMail?.parsed.html).toContain(CANARY_MARK);

    // Scheduled a few seconds ahead, it is watched until sent.
    await page
      .locator('input[name="send_at"]')
      .fill(formatPublicationTime(new Date(Date.now() + 4000), 'Europe/Paris'));
    await page.getByRole('button', { name: 'Programmer l’envoi' }).click();
    await expect.poll(() => page.getByTestId('edition-status').textContent()).toBe('Programmée');
    await expect
      .poll(() => page.getByTestId('progress-status').textContent(), { timeout: PATIENCE_MS, interval: 250 })
      .toBe('Envoyée');
    expect(await page.getByTestId('count-total').textContent()).toBe('5');
    expect(await page.getByTestId('count-sent').textContent()).toBe('5');
    expect(await page.getByTestId('count-failed').textContent()).toBe('0');
    expect(await page.getByTestId('count-skipped').textContent()).toBe('0');
    await screenshot(page, '06-edition-sent');
    for (const email of FREE_READERS) {
      const mails = sink.to(email);
      expect(mails, email).toHaveLength(1);
      expect(mails[0]?.raw.toString('utf8')).not.toContain(CANARY_MARK);
    }
    for (const email of PREMIUM_READERS) expect(sink.to(email)[0]?.parsed.html, email).toContain(CANARY_MARK);

    // Readers click their copies' links (through the HTTP server, an hour after sending) and one
    // leaves by the one-click unsubscribe: the edition's report shows it.
    for (const email of PREMIUM_READERS) {
      const href = hrefsOf(sink.to(email)[0]!).find((link) => link.includes('/r/'))!;
      const followed = await fetch(`${base}${clickedLater(t, href)}`, {
        redirect: 'manual',
        headers: { 'user-agent': 'Mozilla/5.0 Firefox/133.0' },
      });
      expect(followed.status).toBe(302);
    }
    const unsubscribe = /<(https?:[^>]+\/unsubscribe\/[^>]+)>/.exec(
      sink.to(FREE_READERS[1]!)[0]?.raw.toString('utf8') ?? '',
    )?.[1];
    expect(
      (await fetch(unsubscribe ?? '', { method: 'POST', body: 'List-Unsubscribe=One-Click' })).status,
    ).toBe(200);
    await t.app.get(ClickRedirect).flush();
    await page.reload();
    const report = page.getByTestId('edition-report');
    await expect
      .poll(() => report.locator('.figures dd').nth(5).textContent(), { timeout: PATIENCE_MS })
      .toBe('3');
    expect(await report.locator('.figures dd').nth(4).textContent()).toBe('1');
    expect(await report.locator('svg.chart rect').count()).toBeGreaterThan(0);
    await report.scrollIntoViewIfNeeded();
    await screenshot(page, '06-edition-report');
    // A reader's page: their history, the click included.
    await page.goto(`${base}/admin/subscribers`);
    await page.getByRole('link', { name: PREMIUM_READERS[0]! }).click();
    const history = page.getByTestId('subscriber-history');
    await expect
      .poll(() => history.locator('li').first().textContent(), { timeout: PATIENCE_MS })
      .toContain('Clic');
    expect(await history.textContent()).toContain('Édition envoyée');
    await screenshot(page, '06-subscriber');

    await page.getByRole('link', { name: 'Éditions', exact: true }).click();
    await expect.poll(() => page.locator('tbody tr').count()).toBe(1);
    await screenshot(page, '07-editions');
    await page.getByRole('link', { name: 'Tableau de bord' }).click();
    await expect.poll(() => page.locator('.stat__figure').last().textContent()).toBe('4');
    expect(await page.getByTestId('deliverability').locator('tbody tr').count()).toBe(1);
    expect(await page.locator('svg.chart polyline').count()).toBe(1);
    await screenshot(page, '08-dashboard');

    // Subscribers: filter, change a tier, import with its report, export.
    await page.getByRole('link', { name: 'Abonnés', exact: true }).click();
    await page.locator('form.filters select[name="tier"]').selectOption('free');
    await page.getByRole('button', { name: 'Filtrer' }).click();
    await expect.poll(() => page.locator('table.subscribers tbody tr').count()).toBe(2);
    const row = page.locator('tr', { hasText: 'libre.un@exemple.fr' });
    await row.locator('select[name="tier"]').selectOption('premium');
    await row.getByRole('button', { name: 'Changer' }).click();
    await expect.poll(() => page.locator('table.subscribers tbody tr').count()).toBe(1);
    await page.locator('input[type="file"]').setInputFiles({
      name: 'lecteurs.csv',
      mimeType: 'text/csv',
      buffer: Buffer.from(
        'email,name,tier\nnouvelle@exemple.fr,Zoé Lefèvre,free\npas-une-adresse,X,free\n',
        'utf8',
      ),
    });
    await page.getByRole('button', { name: 'Importer' }).click();
    await page.getByTestId('import-report').waitFor();
    expect(await page.getByTestId('import-imported').textContent()).toBe('1');
    expect(await page.getByTestId('import-errors').textContent()).toBe('1');
    expect(await page.locator('[data-testid="import-report"] td').first().textContent()).toBe('3');
    // The list (free subscribers, as filtered) shows the new one at once, without a reload.
    await expect
      .poll(() => page.locator('table.subscribers').textContent(), { timeout: PATIENCE_MS })
      .toContain('nouvelle@exemple.fr');
    await screenshot(page, '09-subscribers');
    const download = page.waitForEvent('download');
    await page.getByRole('link', { name: 'Exporter en CSV' }).click();
    expect((await download).suggestedFilename()).toMatch(/^subscribers-\d{4}-\d{2}-\d{2}\.csv$/);
    await page.locator('input[name="q"]').fill('Zoé');
    await page.locator('form.filters select[name="tier"]').selectOption('');
    await page.getByRole('button', { name: 'Filtrer' }).click();
    await expect.poll(() => page.locator('table.subscribers tbody tr').count()).toBe(1);
    await page.getByRole('button', { name: 'Effacer', exact: true }).click();
    await expect.poll(() => page.locator('table.subscribers tbody tr').count()).toBe(0);

    // A token, shown once.
    await page.getByRole('link', { name: 'Jetons d’API' }).click();
    await page.locator('input[name="name"]').fill('Script de publication');
    await page.getByRole('button', { name: 'Créer le jeton' }).click();
    const token = await page.getByTestId('new-token').textContent();
    expect(token).toMatch(/^dpc_/);
    await screenshot(page, '10-tokens');

    // The team, where the owner adds an editor, and the account page.
    await page.getByRole('link', { name: 'Équipe' }).click();
    await page.locator('input[name="name"]').fill('Pigiste');
    await page.locator('input[name="email"]').fill('pigiste@exemple.fr');
    await page.locator('input[name="password"]').fill('une autre phrase secrète');
    await page.locator('input[name="password_again"]').fill('une autre phrase secrète');
    await page.getByRole('button', { name: 'Ajouter un rédacteur' }).click();
    await page.waitForURL(/\/admin\/team\?added=1$/);
    await expect.poll(() => page.locator('tbody tr').count()).toBe(2);
    await screenshot(page, '10-team');
    await page.getByRole('link', { name: OWNER.name }).click();
    await screenshot(page, '10-account');

    // The queue dashboard, behind the same sign-in.
    await page.getByRole('link', { name: 'Files d’attente' }).click();
    await page.waitForLoadState('networkidle');
    await expect.poll(() => page.locator('body').textContent()).toContain('delivery');
    await screenshot(page, '11-queues');

    await page.goto(`${base}/admin`);
    await page.getByRole('button', { name: 'Se déconnecter' }).click();
    await page.waitForURL(/\/admin\/sign-in\?signed-out=1$/);
    await screenshot(page, '12-sign-in');

    expect(problems).toEqual([]);
    expect(shots.length).toBe(32);
  });

  it('refuses a wrong password, a form without its CSRF token and an expired session', async () => {
    const { page } = await newPage();
    await page.goto(`${base}/admin/sign-in`);
    await page.locator('input[name="email"]').fill(OWNER.email);
    await page.locator('input[name="password"]').fill('not the password');
    const refused = page.waitForResponse(
      (r) => r.url().endsWith('/admin/sign-in') && r.request().method() === 'POST',
    );
    await page.getByRole('button', { name: 'Se connecter' }).click();
    expect((await refused).status()).toBe(401);
    await expect.poll(() => page.getByRole('alert').textContent()).toContain('incorrect');
    await screenshot(page, '13-sign-in-refused');

    await page.locator('input[name="password"]').fill(OWNER.password);
    await page.getByRole('button', { name: 'Se connecter' }).click();
    await page.waitForURL(`${base}/admin`);

    // A form whose token was removed is refused and writes nothing.
    await page.goto(`${base}/admin/tokens`);
    await page
      .locator('form[action="/admin/tokens"] input[name="_csrf"]')
      .evaluate((input) => input.remove());
    await page.locator('input[name="name"]').fill('Sans jeton CSRF');
    const forged = page.waitForResponse(
      (r) => r.url().endsWith('/admin/tokens') && r.request().method() === 'POST',
    );
    await page.getByRole('button', { name: 'Créer le jeton' }).click();
    expect((await forged).status()).toBe(403);
    await screenshot(page, '14-refused-form');
    expect(await page.getByTestId('new-token').count()).toBe(0);
    await page.goto(`${base}/admin/tokens`);
    expect(await page.locator('td', { hasText: 'Sans jeton CSRF' }).count()).toBe(0);

    // The session ends in Redis (as it does after SESSION_IDLE_HOURS): the next click signs in again.
    const keys = await redis.keys(`${t.config.queuePrefix}:session:*`);
    expect(keys.length).toBeGreaterThan(0);
    await redis.del(...keys);
    await page.getByRole('link', { name: 'Articles', exact: true }).click();
    await page.waitForURL(/\/admin\/sign-in\?next=%2Fadmin%2Farticles&expired=1$/);
    await expect.poll(() => page.locator('.notice').textContent()).toContain('expiré');
  });
});
