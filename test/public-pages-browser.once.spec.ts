import { mkdirSync } from 'node:fs';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sampleArticle } from './fixtures/sample-article.js';
import { accessibilityProblems } from './helpers/accessibility.js';
import { ARTIFACTS, launchChromium, screenshotBoth, VIEWPORTS, watch } from './helpers/browser.js';
import { DeskClient } from './helpers/desk.js';
import { addMember } from './helpers/members.js';
import { PATIENCE_MS } from './helpers/patience.js';
import { freePort } from './helpers/net.js';
import { type SmtpSink, startSmtpSink } from './helpers/smtp-sink.js';
import { startTestApp, type TestApp } from './helpers/test-app.js';

const PATIENT = { timeout: PATIENCE_MS, interval: 100 };
const MEMBER = 'lectrice.commente@exemple.fr';
/** What every public page must have besides passing axe: one h1, a skip link, a visible focus. */
async function structureProblems(page: Page): Promise<string[]> {
  const problems: string[] = [];
  const headings = await page.locator('h1').count();
  if (headings !== 1) problems.push(`${headings} h1 elements`);
  const skip = page.locator('a.skip-link');
  if ((await skip.count()) !== 1) problems.push('no skip link');
  else {
    await page.keyboard.press('Tab');
    const focused = await page.evaluate<{ skip: boolean; outline: boolean; visible: boolean }>(
      `(() => { const a = document.activeElement; const s = getComputedStyle(a); return { skip: a.classList.contains('skip-link'), outline: s.outlineStyle !== 'none' && s.outlineWidth !== '0px', visible: a.getBoundingClientRect().top >= 0 }; })()`,
    );
    if (!focused.skip) problems.push('the first Tab does not reach the skip link');
    else if (!focused.outline || !focused.visible) problems.push('the skip link shows no focus');
  }
  return problems;
}

/**
 * Every public page in Debian's Chromium, as a stranger and as a signed-in member: accessible
 * (axe-core, one h1, a skip link, visible focus), no console error or failed request, a screenshot
 * at desktop and phone width; and a member's comment, held, approved and answered.
 */
describe('the public pages in a browser', () => {
  let t: TestApp;
  let sink: SmtpSink;
  let browser: Browser;
  let base: string;
  let slug: string;
  let desk: DeskClient;

  beforeAll(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    sink = await startSmtpSink();
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    t = await startTestApp({ SMTP_URL: sink.url, PUBLIC_URL: base });
    await t.app.listen(port, '127.0.0.1');
    desk = new DeskClient(t);
    expect((await desk.setUp()).statusCode).toBe(303);
    const article = (await t.api('POST', '/api/articles', sampleArticle({ access: 'premium' }))).json();
    await t.api('POST', `/api/articles/${article.id}/publish`);
    slug = article.slug as string;
    const open = (
      await t.api(
        'POST',
        '/api/articles',
        sampleArticle({ access: 'public', title: 'Liban : la crise des ordures', slug: 'liban-ordures' }),
      )
    ).json();
    await t.api('POST', `/api/articles/${open.id}/publish`);
    await addMember(t, MEMBER, 'free');
    browser = await launchChromium();
  });

  afterAll(async () => {
    await browser.close();
    await t.close();
    await sink.close();
  });

  async function check(page: Page, path: string, shot: string): Promise<string[]> {
    await page.goto(`${base}${path}`);
    await page.waitForLoadState('load');
    await screenshotBoth(page, shot);
    const problems = [...(await structureProblems(page)), ...(await accessibilityProblems(page))];
    return problems.map((problem) => `${path}: ${problem}`);
  }

  async function memberContext(): Promise<BrowserContext> {
    const context = await browser.newContext({
      viewport: VIEWPORTS.desktop,
      locale: 'fr-FR',
      bypassCSP: true,
    });
    context.setDefaultTimeout(PATIENCE_MS);
    const page = await context.newPage();
    await page.goto(`${base}/sign-in`);
    await page.locator('form.sign-in input[name="email"]').fill(MEMBER);
    await page.locator('form.sign-in button[type="submit"]').click();
    await page.waitForSelector('text=Vérifiez votre boîte de réception');
    const [mail] = await sink.waitFor(MEMBER);
    const link = /http:\/\/127\.0\.0\.1:\d+\/sign-in\/[A-Za-z0-9_-]{43}/.exec(mail!.parsed.text ?? '')?.[0];
    await page.goto(link!);
    await page.locator('button[type="submit"]', { hasText: 'Me connecter' }).click();
    await page.waitForURL(`${base}/account`);
    await page.close();
    return context;
  }

  it('passes the accessibility checks on every page a stranger reaches', async () => {
    const context = await browser.newContext({
      viewport: VIEWPORTS.desktop,
      locale: 'fr-FR',
      bypassCSP: true,
    });
    context.setDefaultTimeout(PATIENCE_MS);
    const page = await context.newPage();
    const failures = watch(page);
    const month = new Date().toISOString().slice(0, 7).replace('-', '/');
    const problems: string[] = [];
    for (const [path, shot] of [
      ['/', 'public-01-home'],
      [`/articles/${slug}`, 'public-02-article'],
      ['/tags/syrie', 'public-03-tag'],
      ['/archives', 'public-04-archives'],
      [`/archives/${month}`, 'public-05-month'],
      ['/newsletter', 'public-06-newsletter'],
      ['/feed', 'public-07-feed'],
      ['/search?q=qaryatayn', 'public-08-search'],
      ['/sign-in', 'public-09-sign-in'],
    ] as const)
      problems.push(...(await check(page, path, shot)));
    expect(problems).toEqual([]);
    expect(failures).toEqual([]);
    await context.close();
  });

  it('lets a member comment, held for moderation, then shown and answered, on an accessible page', async () => {
    const context = await memberContext();
    const page = await context.newPage();
    const failures = watch(page);
    const articlePath = `/articles/${slug}`;
    expect(await check(page, articlePath, 'comments-01-form')).toEqual([]);
    await page.locator('#comment-body').fill('Très juste sur *Qaryatayn* : merci pour cette analyse.');
    await page.locator('#comment-name').fill('Lectrice attentive');
    await page.locator('#comment-form button[type="submit"]').click();
    await page.waitForURL(/\?comment=pending#comments$/);
    await expect
      .poll(() => page.locator('#comments .notice').textContent(), PATIENT)
      .toBe('Merci ! Votre commentaire paraîtra après relecture.');
    await screenshotBoth(page, 'comments-02-pending');

    const list = await desk.get('/admin/comments');
    const id = /\/admin\/comments\/([0-9a-f-]{36})\/approve/.exec(list.body)?.[1];
    expect((await desk.submit('/admin/comments', `/admin/comments/${id}/approve`, {})).statusCode).toBe(303);

    await page.goto(`${base}${articlePath}`);
    await expect.poll(() => page.locator('#comments-title').textContent(), PATIENT).toBe('Commentaires (1)');
    await page.locator(`#comment-${id} .comment__reply a`).click();
    await expect
      .poll(() => page.locator('#comment-form h3').textContent(), PATIENT)
      .toBe('Répondre à Lectrice attentive');
    expect(await check(page, `${articlePath}?reply=${id}`, 'comments-03-reply')).toEqual([]);
    expect(await check(page, '/account', 'public-10-account')).toEqual([]);
    expect(failures).toEqual([]);
    await context.close();
  });

  it('shows the desk’s comments at desktop and phone width', async () => {
    const context = await browser.newContext({
      viewport: VIEWPORTS.desktop,
      locale: 'fr-FR',
      bypassCSP: true,
    });
    const url = new URL(base);
    await context.addCookies(
      desk.jar
        .header()
        .split('; ')
        .map((pair) => {
          const [name = '', value = ''] = pair.split('=');
          return { name, value, domain: url.hostname, path: '/' };
        }),
    );
    const page = await context.newPage();
    const failures = watch(page);
    await page.goto(`${base}/admin/comments?status=all`);
    await expect.poll(() => page.locator('.comment-item').count(), PATIENT).toBe(1);
    await screenshotBoth(page, 'desk-comments');
    expect(await accessibilityProblems(page)).toEqual([]);
    expect(failures).toEqual([]);
    await context.close();
  });
});
