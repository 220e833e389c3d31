import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sampleArticle } from './fixtures/sample-article.js';
import { accessibilityProblems } from './helpers/accessibility.js';
import { ARTIFACTS, launchChromium, screenshotBoth, VIEWPORTS, watch } from './helpers/browser.js';
import { OWNER } from './helpers/desk.js';
import { freePort } from './helpers/net.js';
import { startTestApp, type TestApp } from './helpers/test-app.js';

/** Every page of the desk an editor opens from the menu. */
const DESK_PAGES = [
  '/admin',
  '/admin/articles',
  '/admin/editions',
  '/admin/subscribers',
  '/admin/comments',
  '/admin/payments',
  '/admin/settings',
  '/admin/tokens',
  '/admin/team',
  '/admin/account',
];

describe('the desk on a phone', () => {
  let t: TestApp;
  let browser: Browser;
  let base: string;
  let page: Page;
  let problems: string[];
  /** Pages opened from a list: an article, an edition and a subscriber of this publication. */
  const detailPages: string[] = [];

  beforeAll(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    t = await startTestApp({ PUBLIC_URL: base });
    await t.app.listen(port, '127.0.0.1');
    for (const [n, email] of [
      'une.lectrice.au.nom.tres.long@exemple-de-domaine.fr',
      'deux@exemple.fr',
    ].entries()) {
      const created = await t.api('POST', '/api/subscribers', {
        email,
        name: `Lectrice ${n}`,
        tier: n === 0 ? 'premium' : 'free',
        confirmed: true,
      });
      expect(created.statusCode).toBe(201);
      detailPages.push(`/admin/subscribers/${created.json().id}`);
    }
    const article = (await t.api('POST', '/api/articles', sampleArticle({ access: 'premium' }))).json();
    await t.api('POST', `/api/articles/${article.id}/publish`);
    const edition = await t.api('POST', '/api/editions', {
      subject: 'La lettre de la semaine',
      article_ids: [article.id],
    });
    expect(edition.statusCode).toBe(201);
    detailPages.push(
      `/admin/articles/${article.id}`,
      '/admin/articles/new',
      `/admin/editions/${edition.json().id}`,
      '/admin/editions/new',
    );
    browser = await launchChromium();
    // bypassCSP lets axe-core's script in, as an extension's would be.
    page = await (
      await browser.newContext({ viewport: VIEWPORTS.phone, locale: 'fr-FR', bypassCSP: true })
    ).newPage();
    problems = watch(page);
    await page.goto(`${base}/admin/setup`);
    await page.locator('input[name="name"]').fill(OWNER.name);
    await page.locator('input[name="email"]').fill(OWNER.email);
    await page.locator('input[name="password"]').fill(OWNER.password);
    await page.locator('input[name="password_again"]').fill(OWNER.password);
    await page.getByRole('button', { name: 'Créer le compte' }).click();
    await page.waitForURL(`${base}/admin`);
  });

  afterAll(async () => {
    await browser.close();
    await t.close();
  });

  it('folds the menu behind a button', async () => {
    const nav = page.locator('#desk-menu');
    const toggle = page.getByRole('button', { name: 'Menu' });
    expect(await nav.isVisible()).toBe(false);
    expect(await toggle.getAttribute('aria-expanded')).toBe('false');
    await toggle.click();
    expect(await nav.isVisible()).toBe(true);
    expect(await toggle.getAttribute('aria-expanded')).toBe('true');
    await page.screenshot({ path: path.join(ARTIFACTS, 'desk-phone-menu.png') });
    await nav.getByRole('link', { name: 'Abonnés' }).click();
    await page.waitForURL(`${base}/admin/subscribers`);
  });

  it('shows lists as cards, each value labelled, never wider than the screen', async () => {
    await page.goto(`${base}/admin/subscribers`);
    const cell = page.locator('.table-wrap tbody tr').first().locator('td').first();
    expect(await cell.getAttribute('data-label')).toBeTruthy();
    // The test's TypeScript has no DOM: the page runs these as written.
    expect(
      await page.evaluate("getComputedStyle(document.querySelector('.table-wrap tbody td')).display"),
    ).toBe('flex');
    // The headings stay for screen readers, out of sight: each card carries its own labels.
    expect((await page.locator('.table-wrap thead').boundingBox())?.height).toBeLessThanOrEqual(1);
    await page.screenshot({ path: path.join(ARTIFACTS, 'desk-phone-subscribers.png'), fullPage: true });

    for (const url of DESK_PAGES) {
      await page.goto(`${base}${url}`);
      const width = await page.evaluate<{ page: number; screen: number }>(
        '({ page: document.documentElement.scrollWidth, screen: window.innerWidth })',
      );
      expect({ url, ...width }).toEqual({ url, page: width.screen, screen: width.screen });
      // Each page as an editor sees it, on a phone and on a desk.
      await screenshotBoth(page, `desk-page${url.replace(/\//g, '-')}`);
    }
    expect(problems).toEqual([]);
  });

  it('passes axe-core (WCAG 2.1 A and AA) on every desk page, at phone and desk width', async () => {
    const found: string[] = [];
    for (const viewport of [VIEWPORTS.phone, VIEWPORTS.desktop]) {
      await page.setViewportSize(viewport);
      for (const url of [...DESK_PAGES, ...detailPages]) {
        await page.goto(`${base}${url}`);
        for (const problem of await accessibilityProblems(page))
          found.push(`${viewport.width}px ${url}: ${problem}`);
      }
    }
    // Signed out: the pages before the desk.
    const stranger = await (await browser.newContext({ locale: 'fr-FR', bypassCSP: true })).newPage();
    for (const url of ['/admin/sign-in', '/admin/forgot-password']) {
      await stranger.goto(`${base}${url}`);
      for (const problem of await accessibilityProblems(stranger)) found.push(`${url}: ${problem}`);
    }
    await stranger.context().close();
    expect(found).toEqual([]);
    expect(problems).toEqual([]);
  });
});
