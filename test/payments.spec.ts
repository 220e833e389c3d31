import { load } from 'cheerio';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { paidSubscriptions, paymentEvents } from '../src/database/schema.js';
import { CANARY_MARK, sampleArticle } from './fixtures/sample-article.js';
import { DeskClient } from './helpers/desk.js';
import { addMember, linksHandled, memberCookieOf, signedIn, signInLinkIn } from './helpers/members.js';
import { eventually, type SmtpSink, startSmtpSink } from './helpers/smtp-sink.js';
import { startStripeStandIn, type StripeStandIn } from './helpers/stripe-stand-in.js';
import { PUBLIC_URL, startTestApp, subscriberByEmail, type TestApp } from './helpers/test-app.js';

let t: TestApp;
let sink: SmtpSink;
let stripe: StripeStandIn;
let article: { id: string; slug: string };

beforeAll(async () => {
  sink = await startSmtpSink();
  stripe = await startStripeStandIn();
  t = await startTestApp({
    SMTP_URL: sink.url,
    SIGN_IN_RATE_LIMIT: '100/600',
    TICK_INTERVAL_MS: '200',
    PAYMENT_GRACE_DAYS: '7',
    ...stripe.env,
  });
  article = (await t.api('POST', '/api/articles', sampleArticle({ access: 'premium' }))).json();
  await t.api('POST', `/api/articles/${article.id}/publish`);
});
afterAll(async () => {
  await t.close();
  await stripe.close();
  await sink.close();
});

const form = (fields: Record<string, string>) => new URLSearchParams(fields).toString();

function postUpgrade(fields: Record<string, string>, cookie?: string) {
  return t.request({
    method: 'POST',
    url: '/upgrade',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      origin: PUBLIC_URL,
      ...(cookie ? { cookie } : {}),
    },
    payload: form(fields),
  });
}

/** Back from the stand-in's checkout, as the browser follows its redirect. */
function comeBack(successUrl: string, cookie?: string) {
  const url = new URL(successUrl);
  return t.request({ method: 'GET', url: `${url.pathname}${url.search}`, headers: cookie ? { cookie } : {} });
}

async function deliver(event: { payload: string; signature: string }) {
  return t.request({
    method: 'POST',
    url: '/stripe/webhook',
    headers: { 'content-type': 'application/json', 'stripe-signature': event.signature },
    payload: event.payload,
  });
}

function sessionIdOf(location: unknown): string {
  const match = /\/pay\/(cs_test_[0-9a-f]+)$/.exec(String(location));
  if (!match) throw new Error(`Not a checkout page: ${String(location)}`);
  return match[1]!;
}

/** A signed-in free member who pays the monthly plan: their cookie, subscription and customer. */
async function payingMember(email: string) {
  await addMember(t, email, 'free');
  const cookie = await signedIn(t, sink, email);
  const opened = await postUpgrade({ plan: 'month', next: `/articles/${article.slug}` }, cookie);
  expect(opened.statusCode).toBe(303);
  const paid = stripe.pay(sessionIdOf(opened.headers.location));
  expect((await comeBack(paid.successUrl, cookie)).statusCode).toBe(303);
  return { cookie, ...paid };
}

async function tierOf(email: string) {
  const row = await subscriberByEmail(t, email);
  return { tier: row?.tier, source: row?.tierSource };
}

function articlePage(cookie?: string) {
  return t.request({ method: 'GET', url: `/articles/${article.slug}`, headers: cookie ? { cookie } : {} });
}

describe('going premium with Stripe', () => {
  it('shows the plans in the publication’s words and currency, with one clear button', async () => {
    const page = await t.request({ method: 'GET', url: `/upgrade?next=%2Farticles%2F${article.slug}` });
    expect(page.statusCode).toBe(200);
    expect(page.headers['cache-control']).toBe('no-store');
    const $ = load(page.body);
    expect($('h1').text()).toBe('La newsletter complète');
    expect($('.plan').first().text()).toContain('5,00\u00a0€');
    expect($('.plan').last().text()).toContain('50,00\u00a0€');
    expect($('.plan').last().text()).toContain('soit 4,17\u00a0€ par mois');
    expect($('.upgrade input[name="email"]').length).toBe(1);
    expect($('.upgrade button[type="submit"]').text()).toBe('Continuer vers le paiement');
    // The paywall of a premium article leads here, and back, with the price, for a stranger too.
    const paywall = load((await articlePage()).body)('.paywall');
    expect(paywall.find('.paywall__price').text()).toBe('À partir de 4,17\u00a0€ par mois');
    expect(paywall.find('a.button').attr('href')).toBe(
      `${PUBLIC_URL}/upgrade?next=%2Farticles%2F${article.slug}`,
    );
    expect(paywall.find('.paywall__free a').attr('href')).toBe('#subscribe-title');
    expect(paywall.find('.paywall__sign-in a').length).toBe(1);
    const free = await addMember(t, 'gratuit-offre@exemple.fr');
    expect(free).toBeDefined();
    const cookie = await signedIn(t, sink, 'gratuit-offre@exemple.fr');
    const upgrade = load((await articlePage(cookie)).body)('.paywall a.button').attr('href');
    expect(upgrade).toBe(`${PUBLIC_URL}/upgrade?next=%2Farticles%2F${article.slug}`);
  });

  it('opens a checkout for a member with their address, the price, the way back and their id, then makes them premium', async () => {
    const id = await addMember(t, 'paie@exemple.fr', 'free');
    const cookie = await signedIn(t, sink, 'paie@exemple.fr');
    const before = stripe.callsTo('POST', '/v1/checkout/sessions').length;
    const opened = await postUpgrade({ plan: 'month', next: `/articles/${article.slug}` }, cookie);
    expect(opened.statusCode).toBe(303);
    const sessionId = sessionIdOf(opened.headers.location);

    const calls = stripe.callsTo('POST', '/v1/checkout/sessions');
    expect(calls).toHaveLength(before + 1);
    const call = calls.at(-1)!;
    expect(call.headers.authorization).toBe(`Bearer ${stripe.env.STRIPE_SECRET_KEY}`);
    expect(call.headers['stripe-version']).toMatch(/^\d{4}-\d{2}-\d{2}/);
    expect(call.params).toMatchObject({
      mode: 'subscription',
      customer_email: 'paie@exemple.fr',
      line_items: [{ price: stripe.prices.monthly, quantity: '1' }],
      client_reference_id: id,
      metadata: { subscriber_id: id },
      subscription_data: { metadata: { subscriber_id: id } },
      success_url: `${PUBLIC_URL}/upgrade/done?session_id={CHECKOUT_SESSION_ID}&next=%2Farticles%2F${article.slug}`,
      cancel_url: `${PUBLIC_URL}/upgrade?next=%2Farticles%2F${article.slug}`,
    });
    expect(call.params.customer).toBeUndefined();
    expect((await articlePage(cookie)).body).not.toContain(CANARY_MARK);

    // Paid: back on the article, premium at once, before any webhook.
    const paid = stripe.pay(sessionId);
    const back = await comeBack(paid.successUrl, cookie);
    expect(back.statusCode).toBe(303);
    expect(back.headers.location).toBe(`${PUBLIC_URL}/articles/${article.slug}`);
    expect(await tierOf('paie@exemple.fr')).toEqual({ tier: 'premium', source: 'payment' });
    expect((await subscriberByEmail(t, 'paie@exemple.fr'))?.externalRef).toBe(paid.customer);
    expect((await articlePage(cookie)).body).toContain(CANARY_MARK);

    // The webhooks that follow change nothing, however often they come.
    const completed = stripe.signedEvent('checkout.session.completed', stripe.session(sessionId)!);
    for (let i = 0; i < 2; i += 1) {
      const answer = await deliver(completed);
      expect(answer.statusCode).toBe(200);
      expect(answer.json()).toEqual(
        i === 0
          ? { received: true, applied: true }
          : { received: true, applied: false, reason: 'event already applied' },
      );
    }
    const created = await deliver(
      stripe.signedEvent('customer.subscription.created', stripe.subscription(paid.subscription)!),
    );
    expect(created.json()).toMatchObject({ applied: true });
    expect(await tierOf('paie@exemple.fr')).toEqual({ tier: 'premium', source: 'payment' });
    const rows = await t.database.db
      .select()
      .from(paidSubscriptions)
      .where(eq(paidSubscriptions.subscriberId, id));
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({
      status: 'active',
      interval: 'month',
      amount: 500,
      currency: 'EUR',
      grantsPremium: true,
    });
  });

  it('lets a new reader pay from the paywall: the payment makes them a member, signed in once', async () => {
    const opened = await postUpgrade({
      plan: 'year',
      email: 'Nouvelle@Exemple.fr',
      next: `/articles/${article.slug}`,
    });
    expect(opened.statusCode).toBe(303);
    const sessionId = sessionIdOf(opened.headers.location);
    const call = stripe.callsTo('POST', '/v1/checkout/sessions').at(-1)!;
    expect(call.params).toMatchObject({
      customer_email: 'Nouvelle@exemple.fr',
      line_items: [{ price: stripe.prices.yearly }],
    });
    expect(call.params.client_reference_id).toBeUndefined();
    const paid = stripe.pay(sessionId);

    // The webhook may come first: it creates the subscriber, confirmed by the payment.
    expect(
      (await deliver(stripe.signedEvent('checkout.session.completed', stripe.session(sessionId)!))).json(),
    ).toMatchObject({
      applied: true,
    });
    const row = await subscriberByEmail(t, 'nouvelle@exemple.fr');
    expect(row).toMatchObject({
      status: 'active',
      tier: 'premium',
      consentSource: 'payment',
      externalRef: paid.customer,
    });

    const back = await comeBack(paid.successUrl);
    expect(back.statusCode).toBe(303);
    expect(back.headers.location).toBe(`${PUBLIC_URL}/articles/${article.slug}`);
    const cookie = memberCookieOf(back).split(';')[0]!;
    expect((await articlePage(cookie)).body).toContain(CANARY_MARK);

    // The same way back, once more (a shared link, another browser): no session; a link by email instead.
    const again = await comeBack(paid.successUrl);
    expect(again.statusCode).toBe(200);
    expect(again.headers['set-cookie']).toBeUndefined();
    expect(load(again.body)('h1').text()).toBe('Merci, votre paiement est enregistré');
    await linksHandled(t);
    expect(sink.to('nouvelle@exemple.fr').some((mail) => /sign-in\//.test(mail.parsed.text ?? ''))).toBe(
      true,
    );
  });

  it('does not sign in whoever pays for an address that is already a member’s', async () => {
    await addMember(t, 'deja@exemple.fr', 'free');
    const before = sink.to('deja@exemple.fr').length;
    const opened = await postUpgrade({ plan: 'month', email: 'deja@exemple.fr', next: '/' });
    const paid = stripe.pay(sessionIdOf(opened.headers.location));
    const back = await comeBack(paid.successUrl);
    expect(back.statusCode).toBe(200);
    expect(back.headers['set-cookie']).toBeUndefined();
    expect(await tierOf('deja@exemple.fr')).toEqual({ tier: 'premium', source: 'payment' });
    // The address's owner gets a sign-in link, and only they can use it.
    const [mail] = (await sink.waitFor('deja@exemple.fr', before + 1)).slice(before);
    expect(signInLinkIn(mail!)).toMatch(/^\/sign-in\//);
  });

  it('limits the checkouts one client may open, and says when to try again', async () => {
    const limited = await startTestApp({ ...stripe.env, SIGN_IN_RATE_LIMIT: '2/600' });
    try {
      const open = () =>
        limited.request({
          method: 'POST',
          url: '/upgrade',
          headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-forwarded-for': '203.0.113.9' },
          payload: form({ plan: 'month', email: 'presse-bouton@exemple.fr', next: '/' }),
          remoteAddress: '203.0.113.9',
        });
      const before = stripe.callsTo('POST', '/v1/checkout/sessions').length;
      expect((await open()).statusCode).toBe(303);
      expect((await open()).statusCode).toBe(303);
      const refused = await open();
      expect(refused.statusCode).toBe(429);
      expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);
      expect(stripe.callsTo('POST', '/v1/checkout/sessions').length).toBe(before + 2);
    } finally {
      await limited.close();
    }
  });

  it('names no customer in a checkout opened for a typed address, so no saved card shows', async () => {
    const member = await payingMember('carte@exemple.fr');
    expect(member.customer).toMatch(/^cus_/);
    const opened = await postUpgrade({ plan: 'month', email: 'carte@exemple.fr', next: '/' });
    expect(opened.statusCode).toBe(303);
    const call = stripe.callsTo('POST', '/v1/checkout/sessions').at(-1)!;
    expect(call.params.customer_email).toBe('carte@exemple.fr');
    expect(call.params.customer).toBeUndefined();
    expect(call.params.client_reference_id).toBeUndefined();
    expect(call.params.metadata).toBeUndefined();
  });

  it('refuses a plan or an address that is not one, and changes nothing', async () => {
    const callsBefore = stripe.calls.length;
    for (const [fields, field] of [
      [{ plan: 'week', email: 'a@exemple.fr' }, 'plan'],
      [{ email: 'a@exemple.fr' }, 'plan'],
      [{ plan: 'month', email: 'pas-une-adresse' }, 'email'],
      [{ plan: 'month', email: 'a@exemple.fr\r\nBcc: b@exemple.fr' }, 'email'],
      [{ plan: 'month' }, 'email'],
    ] as const) {
      const answer = await postUpgrade({ ...fields, next: '//evil.example/' });
      expect(answer.statusCode, JSON.stringify(fields)).toBe(400);
      expect(load(answer.body)(`#${field}-error`).text(), JSON.stringify(fields)).not.toBe('');
      expect(load(answer.body)('input[name="next"]').val()).toBe('/');
    }
    expect(stripe.calls.length).toBe(callsBefore);
  });
});

describe('the tier follows the subscription', () => {
  it('keeps a member who cancels premium until the period ends, then makes them free and tells them', async () => {
    const member = await payingMember('resilie@exemple.fr');
    const before = sink.to('resilie@exemple.fr').length;
    // Far enough ahead that even a slow machine checks "still premium" before it comes.
    const end = Math.floor(Date.now() / 1000) + 15;
    const sub = stripe.subscription(member.subscription)!;
    sub.items.data[0]!.current_period_end = end;
    stripe.updateSubscription(member.subscription, { cancel_at_period_end: true });
    expect((await deliver(stripe.signedEvent('customer.subscription.updated', sub))).json()).toMatchObject({
      applied: true,
    });
    expect(await tierOf('resilie@exemple.fr')).toEqual({ tier: 'premium', source: 'payment' });
    const account = load(
      (await t.request({ method: 'GET', url: '/account', headers: { cookie: member.cookie } })).body,
    );
    expect(account('.account__facts').text()).toContain('Prend fin le');

    // The period ends: the tick makes them free (no webhook needed) and the member is told.
    await eventually(async () => ((await tierOf('resilie@exemple.fr')).tier === 'free' ? true : undefined));
    const [notice] = (await sink.waitFor('resilie@exemple.fr', before + 1)).slice(before);
    expect(notice!.parsed.subject).toContain('Votre abonnement premium a pris fin');
    expect((await articlePage(member.cookie)).body).not.toContain(CANARY_MARK);
  });

  it('keeps a member whose payment failed premium for the grace period, and asks them to update their card', async () => {
    const member = await payingMember('impaye@exemple.fr');
    const before = sink.to('impaye@exemple.fr').length;
    stripe.updateSubscription(member.subscription, { status: 'past_due' });
    const invoice = {
      id: 'in_standin',
      object: 'invoice',
      customer: member.customer,
      parent: { type: 'subscription_details', subscription_details: { subscription: member.subscription } },
    };
    expect((await deliver(stripe.signedEvent('invoice.payment_failed', invoice))).json()).toMatchObject({
      applied: true,
    });
    expect(await tierOf('impaye@exemple.fr')).toEqual({ tier: 'premium', source: 'payment' });
    const [row] = await t.database.db
      .select()
      .from(paidSubscriptions)
      .where(eq(paidSubscriptions.id, member.subscription));
    const graceDays = (row!.premiumUntil!.getTime() - row!.pastDueSince!.getTime()) / 86_400_000;
    expect(graceDays).toBe(7);
    const [notice] = (await sink.waitFor('impaye@exemple.fr', before + 1)).slice(before);
    expect(notice!.parsed.subject).toContain('Votre paiement n’est pas passé');
    expect(notice!.parsed.text).toContain(`${PUBLIC_URL}/account`);

    // The card is updated and the invoice paid: past due no more.
    stripe.updateSubscription(member.subscription, { status: 'active' });
    expect((await deliver(stripe.signedEvent('invoice.paid', invoice))).json()).toMatchObject({
      applied: true,
    });
    const [paid] = await t.database.db
      .select()
      .from(paidSubscriptions)
      .where(eq(paidSubscriptions.id, member.subscription));
    expect(paid).toMatchObject({
      status: 'active',
      pastDueSince: null,
      grantsPremium: true,
      premiumUntil: null,
    });
  });

  it('makes a member free when the subscription is deleted, and tells them', async () => {
    const member = await payingMember('supprime@exemple.fr');
    const before = sink.to('supprime@exemple.fr').length;
    const sub = stripe.updateSubscription(member.subscription, {
      status: 'canceled',
      ended_at: Math.floor(Date.now() / 1000),
    });
    expect((await deliver(stripe.signedEvent('customer.subscription.deleted', sub))).json()).toMatchObject({
      applied: true,
    });
    expect(await tierOf('supprime@exemple.fr')).toEqual({ tier: 'free', source: 'editor' });
    await sink.waitFor('supprime@exemple.fr', before + 1);
    // The paywall now offers to take premium up again.
    const paywall = load((await articlePage(member.cookie)).body)('aside.paywall');
    expect(paywall.hasClass('paywall--renew')).toBe(true);
    expect(paywall.find('h2').text()).toBe('Votre abonnement premium a pris fin');
    expect(paywall.find('a.button').text()).toBe('Reprendre l’abonnement premium');
  });

  it('makes a member free when their payment is refunded in full, until they pay again', async () => {
    const member = await payingMember('rembourse@exemple.fr');
    const refunded = (charge: object) => deliver(stripe.signedEvent('charge.refunded', charge));
    // A partial refund, a goodwill gesture: still premium.
    expect((await refunded(stripe.refund(member.charge, 100))).json()).toMatchObject({ applied: false });
    expect(await tierOf('rembourse@exemple.fr')).toEqual({ tier: 'premium', source: 'payment' });

    const before = sink.to('rembourse@exemple.fr').length;
    expect((await refunded(stripe.refund(member.charge))).json()).toMatchObject({ applied: true });
    expect(await tierOf('rembourse@exemple.fr')).toEqual({ tier: 'free', source: 'editor' });
    await sink.waitFor('rembourse@exemple.fr', before + 1);
    expect(load((await articlePage(member.cookie)).body).text()).not.toContain(CANARY_MARK);

    // Stripe still calls the subscription active, and the invoice paid before the refund comes late.
    const active = stripe.subscription(member.subscription)!;
    expect((await deliver(stripe.signedEvent('customer.subscription.updated', active))).statusCode).toBe(200);
    const invoice = (paidAt: number) => ({
      id: `in_${paidAt}`,
      object: 'invoice',
      customer: member.customer,
      status_transitions: { paid_at: paidAt },
      parent: { type: 'subscription_details', subscription_details: { subscription: member.subscription } },
    });
    // Paid when the subscription started, before the refund, however slow this machine is.
    expect((await deliver(stripe.signedEvent('invoice.paid', invoice(active.start_date)))).statusCode).toBe(
      200,
    );
    const now = Math.floor(Date.now() / 1000);
    expect((await tierOf('rembourse@exemple.fr')).tier).toBe('free');

    // A payment after the refund: premium again.
    expect((await deliver(stripe.signedEvent('invoice.paid', invoice(now + 5)))).json()).toMatchObject({
      applied: true,
    });
    expect(await tierOf('rembourse@exemple.fr')).toEqual({ tier: 'premium', source: 'payment' });
  });

  it('follows Stripe’s state, not the order events arrive in', async () => {
    const member = await payingMember('desordre@exemple.fr');
    const activeCopy = structuredClone(stripe.subscription(member.subscription)!);
    const cancelled = stripe.updateSubscription(member.subscription, {
      status: 'canceled',
      ended_at: Math.floor(Date.now() / 1000),
    });
    const deleted = stripe.signedEvent('customer.subscription.deleted', cancelled);
    const lateUpdate = stripe.signedEvent('customer.subscription.updated', activeCopy);
    expect((await deliver(deleted)).statusCode).toBe(200);
    // An older event saying "active" arrives after: the subscription is read back, and stays ended.
    expect((await deliver(lateUpdate)).json()).toMatchObject({ applied: true });
    expect(await tierOf('desordre@exemple.fr')).toEqual({ tier: 'free', source: 'editor' });
    expect((await deliver(deleted)).json()).toEqual({
      received: true,
      applied: false,
      reason: 'event already applied',
    });
  });

  it('lets an editor give premium with an end date, which the tick ends; payment outlasts an editor’s change', async () => {
    const id = await addMember(t, 'offert@exemple.fr', 'free');
    // Far enough ahead that even a slow machine checks "premium" before it comes.
    const until = new Date(Date.now() + 15_000).toISOString();
    const given = await t.api('PATCH', `/api/subscribers/${id}`, { tier: 'premium', premium_until: until });
    expect(given.statusCode).toBe(200);
    expect(await tierOf('offert@exemple.fr')).toEqual({ tier: 'premium', source: 'editor' });
    for (const [body, field] of [
      [{ tier: 'premium', premium_until: '2020-01-01' }, 'premium_until'],
      [{ tier: 'premium', premium_until: 'demain' }, 'premium_until'],
      [{ tier: 'free', premium_until: '2099-01-01' }, 'premium_until'],
    ] as const) {
      const answer = await t.api('PATCH', `/api/subscribers/${id}`, body);
      expect(answer.statusCode).toBe(400);
      expect(answer.json().details[0].field).toBe(field);
    }
    await eventually(async () => ((await tierOf('offert@exemple.fr')).tier === 'free' ? true : undefined));
    await sink.waitFor('offert@exemple.fr', 1);

    const member = await payingMember('payant-retrograde@exemple.fr');
    const row = await subscriberByEmail(t, 'payant-retrograde@exemple.fr');
    expect((await t.api('PATCH', `/api/subscribers/${row!.id}`, { tier: 'free' })).statusCode).toBe(200);
    expect(await tierOf('payant-retrograde@exemple.fr')).toEqual({ tier: 'premium', source: 'payment' });
    expect((await articlePage(member.cookie)).body).toContain(CANARY_MARK);
  });
});

describe('the webhook endpoint', () => {
  async function eventCount(): Promise<number> {
    return (await t.database.db.select().from(paymentEvents)).length;
  }

  it('refuses an event not signed with this endpoint’s secret, and writes nothing', async () => {
    const member = await payingMember('signature@exemple.fr');
    const sub = stripe.updateSubscription(member.subscription, { status: 'canceled' });
    const count = await eventCount();
    const forged = stripe.signedEvent('customer.subscription.deleted', sub, 'whsec_someone_else_secret');
    const answers = [
      await deliver(forged),
      await deliver({ payload: forged.payload, signature: '' }),
      await deliver({ payload: forged.payload, signature: 't=1,v1=00' }),
      await deliver({ payload: `${forged.payload} `, signature: stripe.signedEvent('x', {}).signature }),
    ];
    for (const answer of answers) {
      expect(answer.statusCode).toBe(400);
      expect(answer.json().message).toMatch(/^Stripe-Signature: /);
    }
    expect(await eventCount()).toBe(count);
    expect(await tierOf('signature@exemple.fr')).toEqual({ tier: 'premium', source: 'payment' });
  });

  it('answers an unused type, an unknown customer or subscription with 200 and writes nothing', async () => {
    const count = await eventCount();
    const unused = await deliver(stripe.signedEvent('customer.created', { id: 'cus_x', object: 'customer' }));
    expect(unused.json()).toEqual({
      received: true,
      applied: false,
      reason: 'event type customer.created is not used',
    });

    // A subscription bought elsewhere, for a customer this publication does not know.
    const client = await import('stripe');
    const direct = new client.default(stripe.env.STRIPE_SECRET_KEY!, {
      host: '127.0.0.1',
      port: Number(new URL(stripe.url).port),
      protocol: 'http',
    });
    const session = await direct.checkout.sessions.create({
      mode: 'subscription',
      customer_email: 'inconnu@ailleurs.example',
      line_items: [{ price: stripe.prices.monthly, quantity: 1 }],
      success_url: 'https://ailleurs.example/ok',
    });
    const paid = stripe.pay(session.id);
    const unknown = await deliver(
      stripe.signedEvent('customer.subscription.created', stripe.subscription(paid.subscription)!),
    );
    expect(unknown.json()).toEqual({ received: true, applied: false, reason: 'unknown customer' });
    const missing = await deliver(
      stripe.signedEvent('customer.subscription.updated', { id: 'sub_nothere', object: 'subscription' }),
    );
    expect(missing.json()).toEqual({ received: true, applied: false, reason: 'unknown subscription' });
    expect(await eventCount()).toBe(count);
    expect(await subscriberByEmail(t, 'inconnu@ailleurs.example')).toBeUndefined();
  });

  it('asks Stripe to deliver again while Stripe cannot be reached, and applies the event when it can', async () => {
    const member = await payingMember('panne@exemple.fr');
    const sub = stripe.updateSubscription(member.subscription, { status: 'canceled' });
    const event = stripe.signedEvent('customer.subscription.deleted', sub);
    stripe.failEverything(true);
    try {
      const answer = await deliver(event);
      expect(answer.statusCode).toBe(503);
      expect(answer.json().message).toContain('Stripe will deliver the event again');
    } finally {
      stripe.failEverything(false);
    }
    expect(await tierOf('panne@exemple.fr')).toEqual({ tier: 'premium', source: 'payment' });
    expect((await deliver(event)).json()).toMatchObject({ applied: true });
    expect(await tierOf('panne@exemple.fr')).toEqual({ tier: 'free', source: 'editor' });
  });
});

describe('my account with a paid subscription', () => {
  it('shows the plan and the next payment, and opens Stripe’s billing portal', async () => {
    const member = await payingMember('compte@exemple.fr');
    const page = await t.request({ method: 'GET', url: '/account', headers: { cookie: member.cookie } });
    const facts = load(page.body)('.account__facts').text();
    expect(facts).toContain('Mensuel · 5,00\u00a0€');
    expect(facts).toContain('Prochain prélèvement le');
    const portal = await t.request({
      method: 'POST',
      url: '/account/billing',
      headers: { cookie: member.cookie, origin: PUBLIC_URL },
    });
    expect(portal.statusCode).toBe(303);
    expect(portal.headers.location).toBe(`${stripe.url}/portal/${member.customer}`);
    expect(stripe.callsTo('POST', '/v1/billing_portal/sessions').at(-1)!.params).toEqual({
      customer: member.customer,
      return_url: `${PUBLIC_URL}/account`,
    });
    const crossSite = await t.request({
      method: 'POST',
      url: '/account/billing',
      headers: { cookie: member.cookie, origin: 'https://evil.example' },
    });
    expect(crossSite.statusCode).toBe(403);
  });
});

describe('payments on the desk', () => {
  let desk: DeskClient;

  beforeAll(async () => {
    desk = new DeskClient(t);
    expect((await desk.setUp()).statusCode).toBe(303);
  });

  it('shows paying members, monthly revenue and a year of paid subscriptions per month', async () => {
    await payingMember('tableau@exemple.fr');
    const page = await desk.get('/admin');
    expect(page.statusCode).toBe(200);
    const $ = load(page.body);
    const paying = (
      await t.database.db.select().from(paidSubscriptions).where(eq(paidSubscriptions.grantsPremium, true))
    ).length;
    expect(paying).toBeGreaterThan(0);
    expect($('#paying-members').text()).toBe(String(paying));
    expect($('#monthly-revenue').text()).toMatch(/€$/);
    expect($('svg.chart rect.chart__bar--first')).toHaveLength(12);
    expect($('svg.chart rect.chart__bar--second')).toHaveLength(12);
  });

  it('creates the premium prices in Stripe and offers them on the upgrade page', async () => {
    const refused = await desk.submit('/admin/payments', '/admin/payments/prices', {
      monthly: 'cinq',
      yearly: '-1',
    });
    expect(refused.statusCode).toBe(400);
    expect(load(refused.body)('#monthly-error').text()).toBe('Indiquez un montant tel que 5 ou 4,90.');
    const before = stripe.callsTo('POST', '/v1/prices').length;
    const saved = await desk.submit('/admin/payments', '/admin/payments/prices', {
      monthly: '6,50',
      yearly: '65',
    });
    expect(saved.statusCode).toBe(303);
    const created = stripe.callsTo('POST', '/v1/prices').slice(before);
    expect(created.map((call) => call.params)).toEqual([
      expect.objectContaining({ currency: 'eur', unit_amount: '650', recurring: { interval: 'month' } }),
      expect.objectContaining({ currency: 'eur', unit_amount: '6500', recurring: { interval: 'year' } }),
    ]);
    expect(stripe.callsTo('POST', '/v1/products').at(-1)!.params).toEqual({
      name: 'Le Blog de Dépêche — premium',
    });
    const page = load((await desk.get('/admin/payments')).body);
    expect(page('.figures').text()).toContain('6,50\u00a0€');
    expect(page('code.secret').text()).toBe(`${PUBLIC_URL}/stripe/webhook`);
    const upgrade = load((await t.request({ method: 'GET', url: '/upgrade' })).body);
    expect(upgrade('.plan').first().text()).toContain('6,50\u00a0€');
    expect(upgrade('.plan').last().text()).toContain('65,00\u00a0€');
  });

  it('lets the editor word the premium offer, made with the price on the blog and in free editions', async () => {
    const seven = Array.from({ length: 7 }, (_, n) => `Avantage n° ${n + 1}`).join('\n');
    const refused = await desk.submit('/admin/payments', '/admin/payments/offer', { offer: seven });
    expect(refused.statusCode).toBe(400);
    const form = load(refused.body);
    expect(form('#offer-error').text()).toBe('Six lignes au plus.');
    expect(form('textarea[name="offer"]').text()).toContain('Avantage n° 7');
    const tooLong = await desk.submit('/admin/payments', '/admin/payments/offer', { offer: 'é'.repeat(161) });
    expect(load(tooLong.body)('#offer-error').text()).toBe('Une ligne compte 160 caractères au plus.');

    const lines = ['Les cartes inédites de la Syrie centrale', 'Un entretien par mois avec la rédaction'];
    const saved = await desk.submit('/admin/payments', '/admin/payments/offer', {
      offer: `${lines[0]}\r\n\r\n  ${lines[1]}  `,
    });
    expect(saved.statusCode).toBe(303);
    expect(load((await desk.get('/admin/payments')).body)('textarea[name="offer"]').text()).toBe(
      lines.join('\n'),
    );

    const upgrade = load((await t.request({ method: 'GET', url: '/upgrade' })).body);
    expect(
      upgrade('.upgrade__benefits li')
        .map((_, li) => upgrade(li).text())
        .get(),
    ).toEqual(lines);
    // Pages kept for strangers expire within seconds: the paywall makes the new offer after that.
    const paywall = await eventually(async () => {
      const $ = load((await articlePage()).body);
      return $('.paywall__benefits li').first().text() === lines[0] ? $ : undefined;
    });
    // 6,50 € a month or 65 € a year: the year's twelfth is the lowest.
    expect(paywall('.paywall__price').text()).toContain('5,42\u00a0€');

    await addMember(t, 'offre@exemple.fr', 'free');
    await addMember(t, 'offre-premium@exemple.fr', 'premium');
    const edition = (
      await t.api('POST', '/api/editions', { subject: 'L’offre', article_ids: [article.id] })
    ).json();
    const scheduled = await t.api('POST', `/api/editions/${edition.id}/schedule`, {
      send_at: new Date(Date.now() + 300).toISOString(),
    });
    expect(scheduled.statusCode).toBe(200);
    const [free] = await sink.waitFor('offre@exemple.fr', 1);
    const html = load(String(free!.parsed.html));
    expect(
      html('.offer li')
        .map((_, li) => html(li).text())
        .get(),
    ).toEqual(lines);
    expect(html.text()).toContain('À partir de 5,42\u00a0€ par mois');
    expect(free!.parsed.text).toContain(lines[1]);
    const [premium] = await sink.waitFor('offre-premium@exemple.fr', 1);
    expect(String(premium!.parsed.html)).not.toContain(lines[0]);
  });

  it('lets the editor set the grace after a failed payment, which the next failure follows', async () => {
    const refused = await desk.submit('/admin/payments', '/admin/payments/grace', { grace_days: '365' });
    expect(refused.statusCode).toBe(400);
    expect(load(refused.body)('#grace-error').text()).toBe('Un nombre entier de jours, de 0 à 60.');
    const saved = await desk.submit('/admin/payments', '/admin/payments/grace', { grace_days: '3' });
    expect(saved.statusCode).toBe(303);
    expect(load((await desk.get('/admin/payments')).body)('input[name="grace_days"]').val()).toBe('3');
    try {
      const member = await payingMember('grace-courte@exemple.fr');
      stripe.updateSubscription(member.subscription, { status: 'past_due' });
      const failed = stripe.signedEvent(
        'customer.subscription.updated',
        stripe.subscription(member.subscription)!,
      );
      expect((await deliver(failed)).json()).toMatchObject({ applied: true });
      const [row] = await t.database.db
        .select()
        .from(paidSubscriptions)
        .where(eq(paidSubscriptions.id, member.subscription));
      expect((row!.premiumUntil!.getTime() - row!.pastDueSince!.getTime()) / 86_400_000).toBe(3);
    } finally {
      await desk.submit('/admin/payments', '/admin/payments/grace', { grace_days: '7' });
    }
  });

  it('shows each subscriber’s payment with a link to Stripe, and gives premium until a date', async () => {
    const member = await payingMember('liste@exemple.fr');
    const list = load((await desk.get('/admin/subscribers?q=liste%40exemple.fr')).body);
    expect(list('.payment .badge').text()).toBe('Payant');
    expect(list('.payment a').attr('href')).toBe(
      `https://dashboard.stripe.com/test/customers/${member.customer}`,
    );

    const id = await addMember(t, 'cadeau@exemple.fr');
    const answer = await desk.submit('/admin/subscribers?q=cadeau', `/admin/subscribers/${id}/tier`, {
      tier: 'premium',
      premium_until: '2099-06-30',
      back: '/admin/subscribers?q=cadeau',
    });
    expect(answer.statusCode).toBe(303);
    const row = await subscriberByEmail(t, 'cadeau@exemple.fr');
    expect(row).toMatchObject({ tier: 'premium', comped: true });
    // Through that day, in the publication's time zone.
    expect(row?.compUntil?.toISOString()).toBe('2099-06-30T22:00:00.000Z');
    const after = load((await desk.get('/admin/subscribers?q=cadeau')).body);
    expect(after('.gift').text()).toContain('Offert jusqu’au');
  });
});
