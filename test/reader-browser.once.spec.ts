import { mkdirSync } from 'node:fs';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CANARY_MARK, sampleArticle } from './fixtures/sample-article.js';
import { ARTIFACTS, launchChromium, screenshotBoth, VIEWPORTS, watch } from './helpers/browser.js';
import { addMember } from './helpers/members.js';
import { PATIENCE_MS } from './helpers/patience.js';
import { freePort } from './helpers/net.js';
import { type SmtpSink, startSmtpSink } from './helpers/smtp-sink.js';
import { startStripeStandIn, type StripeStandIn } from './helpers/stripe-stand-in.js';
import { startTestApp, subscriberByEmail, type TestApp } from './helpers/test-app.js';

const PATIENT = { timeout: PATIENCE_MS, interval: 100 };
const READER = 'lectrice.web@exemple.fr';

/**
 * A reader's whole way, in Debian's Chromium against the service listening on a port: the paywall,
 * signing in with the link caught at the SMTP server, paying at the stand-in's checkout, reading
 * in full, signing out.
 */
describe('a reader who signs in and pays, in a browser', () => {
  let t: TestApp;
  let sink: SmtpSink;
  let stripe: StripeStandIn;
  let browser: Browser;
  let base: string;
  let slug: string;
  const shots: string[] = [];

  beforeAll(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    sink = await startSmtpSink();
    stripe = await startStripeStandIn();
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    t = await startTestApp({ SMTP_URL: sink.url, PUBLIC_URL: base, ...stripe.env });
    await t.app.listen(port, '127.0.0.1');
    const article = (await t.api('POST', '/api/articles', sampleArticle({ access: 'premium' }))).json();
    await t.api('POST', `/api/articles/${article.id}/publish`);
    slug = article.slug as string;
    await addMember(t, READER, 'free');
    browser = await launchChromium();
  });

  afterAll(async () => {
    await browser.close();
    await t.close();
    await stripe.close();
    await sink.close();
  });

  async function shoot(page: Page, name: string): Promise<void> {
    shots.push(...(await screenshotBoth(page, name)));
  }

  it('shows the paywall, signs in by email, upgrades, reads in full, and signs out', async () => {
    const context = await browser.newContext({ viewport: VIEWPORTS.desktop, locale: 'fr-FR' });
    // Generous limits for a slow machine: each wait ends as soon as the page is there.
    context.setDefaultTimeout(PATIENCE_MS);
    const page = await context.newPage();
    const problems = watch(page);
    const articleUrl = `${base}/articles/${slug}`;

    // A stranger: the teaser and the paywall.
    await page.goto(articleUrl);
    await expect.poll(() => page.locator('aside.paywall').isVisible(), PATIENT).toBe(true);
    expect(await page.content()).not.toContain(CANARY_MARK);
    await shoot(page, 'reader-01-paywall');

    // Signing in from the paywall: the link comes by email and leads back to the article.
    await page.locator('.paywall__sign-in a').click();
    await page.waitForURL(/\/sign-in\?next=/);
    await shoot(page, 'reader-02-sign-in');
    await page.locator('form.sign-in input[name="email"]').fill(READER);
    await page.locator('form.sign-in button[type="submit"]').click();
    await page.waitForSelector('text=Vérifiez votre boîte de réception');
    const [mail] = await sink.waitFor(READER);
    const link = /http:\/\/127\.0\.0\.1:\d+\/sign-in\/[A-Za-z0-9_-]{43}/.exec(mail!.parsed.text ?? '')?.[0];
    expect(link).toBeDefined();
    await page.goto(link!);
    await page.locator('button[type="submit"]', { hasText: 'Me connecter' }).click();
    await page.waitForURL(articleUrl);

    // A free member: still the teaser, and the paywall now offers the upgrade.
    await expect.poll(() => page.locator('aside.paywall--upgrade').isVisible(), PATIENT).toBe(true);
    expect(await page.content()).not.toContain(CANARY_MARK);
    expect(await page.locator('.masthead__nav a').last().textContent()).toBe('Mon compte');
    await page.locator('aside.paywall a.button').click();
    await page.waitForURL(/\/upgrade\?next=/);
    expect(await page.locator('.plan').count()).toBe(2);
    await shoot(page, 'reader-03-upgrade');

    // Checkout at the stand-in, and back on the article, premium.
    await page.locator('.plan', { hasText: 'Annuel' }).click();
    await page.locator('.upgrade__button').click();
    await page.waitForURL(new RegExp(`^${stripe.url}/pay/cs_test_`));
    const sessionId = new URL(page.url()).pathname.split('/').pop()!;
    await page.locator('button', { hasText: 'Payer' }).click();
    await page.waitForURL(articleUrl);
    // Stripe's webhook arrives too, as it would after the payment.
    const event = stripe.signedEvent('checkout.session.completed', stripe.session(sessionId)!);
    const delivered = await fetch(`${base}/stripe/webhook`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'stripe-signature': event.signature },
      body: event.payload,
    });
    expect(delivered.status).toBe(200);
    await page.reload();
    await expect.poll(() => page.content(), PATIENT).toContain(CANARY_MARK);
    expect(await page.locator('aside.paywall').count()).toBe(0);
    expect((await subscriberByEmail(t, READER))?.tier).toBe('premium');

    // My account: the plan, and the way to manage it.
    await page.goto(`${base}/account`);
    await expect.poll(() => page.locator('.account__facts').textContent(), PATIENT).toContain('Annuel');
    await shoot(page, 'reader-04-account');

    // Signed out: the teaser again.
    await page.locator('form[action$="/sign-out"] button').click();
    await page.waitForSelector('text=Vous êtes déconnecté');
    await page.goto(articleUrl);
    await expect.poll(() => page.locator('aside.paywall').isVisible(), PATIENT).toBe(true);
    expect(await page.content()).not.toContain(CANARY_MARK);

    expect(problems).toEqual([]);
    await context.close();
    expect(shots).toHaveLength(8);
  });
});
