import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import Stripe from 'stripe';

/**
 * A local HTTP stand-in for the part of Stripe's API that Dépêche calls, for the real `stripe`
 * client pointed at it (STRIPE_API_URL). It keeps every call with its decoded parameters, so tests
 * assert what Dépêche sent; holds checkout sessions, customers, subscriptions and prices; plays the
 * hosted checkout page (GET shows it, POST pays); and signs webhook events with the SDK's own
 * test-header helper.
 */

export const STAND_IN_SECRET_KEY = 'sk_test_standin0123456789';
export const STAND_IN_WEBHOOK_SECRET = 'whsec_standin0123456789abcdef';

type Params = Record<string, unknown>;

interface Reply {
  readonly status: number;
  readonly body: unknown;
}

export interface StripeCall {
  readonly method: string;
  readonly path: string;
  readonly params: Params;
  readonly headers: IncomingMessage['headers'];
}

interface Session {
  id: string;
  object: 'checkout.session';
  created: number;
  status: 'open' | 'complete' | 'expired';
  payment_status: 'unpaid' | 'paid';
  mode: string;
  url: string;
  success_url: string;
  cancel_url: string;
  customer: string | null;
  customer_email: string | null;
  customer_details: { email: string } | null;
  client_reference_id: string | null;
  metadata: Record<string, string>;
  subscription: string | null;
  price: string;
  subscriptionMetadata: Record<string, string>;
}

export interface StandInSubscription {
  id: string;
  object: 'subscription';
  customer: string;
  status: string;
  cancel_at_period_end: boolean;
  cancel_at: number | null;
  start_date: number;
  ended_at: number | null;
  currency: string;
  metadata: Record<string, string>;
  items: {
    object: 'list';
    data: {
      id: string;
      quantity: number;
      current_period_end: number;
      price: { id: string; currency: string; unit_amount: number; recurring: { interval: string } };
    }[];
  };
}

export interface StandInCharge {
  readonly id: string;
  readonly object: 'charge';
  readonly customer: string;
  readonly amount: number;
  amount_refunded: number;
  refunded: boolean;
  readonly currency: string;
}

export interface StripeStandIn {
  readonly url: string;
  /** The env that points Dépêche at the stand-in, with a monthly and a yearly price. */
  readonly env: Record<string, string>;
  readonly prices: { readonly monthly: string; readonly yearly: string };
  readonly calls: StripeCall[];
  callsTo(method: string, path: string | RegExp): StripeCall[];
  session(id: string): Session | undefined;
  subscription(id: string): StandInSubscription | undefined;
  /** Pays an open checkout as the hosted page would: a customer, an active subscription. */
  pay(sessionId: string): { customer: string; subscription: string; charge: string; successUrl: string };
  /** Refunds a charge, in full or this many minor units of it; answers the charge as it is now. */
  refund(chargeId: string, amount?: number): StandInCharge;
  /** Changes a subscription as Stripe would after a cancellation, a failed payment… */
  updateSubscription(id: string, change: Partial<StandInSubscription>): StandInSubscription;
  /** A webhook event about an object, and the Stripe-Signature header Stripe would send with it. */
  signedEvent(
    type: string,
    object: object,
    secret?: string,
  ): { payload: string; signature: string; id: string };
  /** Makes every API call fail with a 500 until called again with false. */
  failEverything(fail: boolean): void;
  close(): Promise<void>;
}

const now = (): number => Math.floor(Date.now() / 1000);
const newId = (prefix: string): string => `${prefix}_${randomBytes(12).toString('hex')}`;

/** Stripe's form encoding (`a[b][0][c]=v`) back into objects and arrays. */
export function decodeStripeForm(body: string): Params {
  const root: Params = {};
  for (const [rawKey, value] of new URLSearchParams(body)) {
    const path = rawKey.replace(/\]/g, '').split('[');
    let node: Record<string, unknown> = root;
    path.forEach((key, index) => {
      if (index === path.length - 1) node[key] = value;
      else {
        node[key] ??= /^\d+$/.test(path[index + 1] ?? '') ? [] : {};
        node = node[key] as Record<string, unknown>;
      }
    });
  }
  return root;
}

function readBody(request: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      resolve(Buffer.concat(chunks).toString('utf8'));
    });
    request.on('error', reject);
  });
}

export async function startStripeStandIn(): Promise<StripeStandIn> {
  const calls: StripeCall[] = [];
  const sessions = new Map<string, Session>();
  const subscriptions = new Map<string, StandInSubscription>();
  const prices = new Map<
    string,
    { id: string; currency: string; unit_amount: number; interval: string; product: string }
  >();
  const customers = new Map<string, { id: string; email: string }>();
  const charges = new Map<string, StandInCharge>();
  let failing = false;
  let base = '';
  const signer = new Stripe(STAND_IN_SECRET_KEY);

  const addPrice = (interval: string, amount: number): string => {
    const id = newId('price');
    prices.set(id, { id, currency: 'eur', unit_amount: amount, interval, product: 'prod_standin' });
    return id;
  };
  const monthly = addPrice('month', 500);
  const yearly = addPrice('year', 5000);

  const priceJson = (id: string) => {
    const price = prices.get(id);
    return price
      ? {
          id,
          object: 'price',
          currency: price.currency,
          unit_amount: price.unit_amount,
          recurring: { interval: price.interval },
          product: price.product,
        }
      : undefined;
  };

  const json = (status: number, body: unknown): Reply => ({ status, body });
  const missing = (what: string): Reply =>
    json(404, {
      error: { type: 'invalid_request_error', code: 'resource_missing', message: `No such ${what}` },
    });

  const pay = (sessionId: string) => {
    const session = sessions.get(sessionId);
    if (!session || session.status !== 'open') throw new Error(`No open checkout ${sessionId}`);
    let customer = session.customer;
    const email = session.customer_email ?? customers.get(customer ?? '')?.email ?? '';
    if (!customer) {
      customer = newId('cus');
      customers.set(customer, { id: customer, email });
    }
    const price = prices.get(session.price);
    if (!price) throw new Error(`No price ${session.price}`);
    const subscription: StandInSubscription = {
      id: newId('sub'),
      object: 'subscription',
      customer,
      status: 'active',
      cancel_at_period_end: false,
      cancel_at: null,
      start_date: now(),
      ended_at: null,
      currency: price.currency,
      metadata: session.subscriptionMetadata,
      items: {
        object: 'list',
        data: [
          {
            id: newId('si'),
            quantity: 1,
            current_period_end: now() + (price.interval === 'year' ? 365 : 30) * 86400,
            price: {
              id: price.id,
              currency: price.currency,
              unit_amount: price.unit_amount,
              recurring: { interval: price.interval },
            },
          },
        ],
      },
    };
    subscriptions.set(subscription.id, subscription);
    const charge: StandInCharge = {
      id: newId('ch'),
      object: 'charge',
      customer,
      amount: price.unit_amount,
      amount_refunded: 0,
      refunded: false,
      currency: price.currency,
    };
    charges.set(charge.id, charge);
    Object.assign(session, {
      status: 'complete',
      payment_status: 'paid',
      customer,
      customer_details: { email },
      subscription: subscription.id,
    });
    return {
      customer,
      subscription: subscription.id,
      charge: charge.id,
      successUrl: session.success_url.replace('{CHECKOUT_SESSION_ID}', session.id),
    };
  };

  const api = (request: IncomingMessage, path: string, params: Params): Reply => {
    if (request.headers.authorization !== `Bearer ${STAND_IN_SECRET_KEY}`)
      return json(401, {
        error: { type: 'invalid_request_error', message: 'Invalid API Key provided' },
      });
    if (failing) return json(500, { error: { type: 'api_error', message: 'Stand-in told to fail' } });
    const method = request.method ?? 'GET';
    let match: RegExpExecArray | null;
    if (method === 'POST' && path === '/v1/checkout/sessions') {
      const lineItems = params.line_items as { price?: string }[] | undefined;
      const subscriptionData = params.subscription_data as { metadata?: Record<string, string> } | undefined;
      const id = newId('cs_test');
      const session: Session = {
        id,
        object: 'checkout.session',
        created: now(),
        status: 'open',
        payment_status: 'unpaid',
        mode: String(params.mode),
        url: `${base}/pay/${id}`,
        success_url: String(params.success_url),
        cancel_url: String(params.cancel_url),
        customer: typeof params.customer === 'string' ? params.customer : null,
        customer_email: typeof params.customer_email === 'string' ? params.customer_email : null,
        customer_details: null,
        client_reference_id:
          typeof params.client_reference_id === 'string' ? params.client_reference_id : null,
        metadata: (params.metadata as Record<string, string> | undefined) ?? {},
        subscription: null,
        price: lineItems?.[0]?.price ?? '',
        subscriptionMetadata: subscriptionData?.metadata ?? {},
      };
      if (!prices.has(session.price)) return missing(`price: '${session.price}'`);
      sessions.set(id, session);
      return json(200, session);
    }
    if (method === 'GET' && (match = /^\/v1\/checkout\/sessions\/([^/]+)$/.exec(path))) {
      const session = sessions.get(match[1] ?? '');
      return session ? json(200, session) : missing('checkout.session');
    }
    if (method === 'GET' && (match = /^\/v1\/subscriptions\/([^/]+)$/.exec(path))) {
      const subscription = subscriptions.get(match[1] ?? '');
      return subscription ? json(200, subscription) : missing('subscription');
    }
    if (method === 'GET' && (match = /^\/v1\/charges\/([^/]+)$/.exec(path))) {
      const charge = charges.get(match[1] ?? '');
      return charge ? json(200, charge) : missing('charge');
    }
    if (method === 'GET' && (match = /^\/v1\/prices\/([^/]+)$/.exec(path))) {
      const price = priceJson(match[1] ?? '');
      return price ? json(200, price) : missing('price');
    }
    if (method === 'POST' && path === '/v1/billing_portal/sessions') {
      if (!customers.has(String(params.customer))) return missing('customer');
      return json(200, {
        id: newId('bps'),
        object: 'billing_portal.session',
        customer: params.customer,
        return_url: params.return_url,
        url: `${base}/portal/${String(params.customer)}`,
      });
    }
    if (method === 'POST' && path === '/v1/products')
      return json(200, { id: newId('prod'), object: 'product', name: params.name });
    if (method === 'POST' && path === '/v1/prices') {
      const recurring = params.recurring as { interval?: string } | undefined;
      const id = newId('price');
      prices.set(id, {
        id,
        currency: String(params.currency),
        unit_amount: Number(params.unit_amount),
        interval: recurring?.interval ?? 'month',
        product: String(params.product),
      });
      return json(200, priceJson(id));
    }
    return json(404, {
      error: { type: 'invalid_request_error', message: `Unrecognized request URL (${method}: ${path})` },
    });
  };

  const server = createServer((request, response) => {
    void (async () => {
      const url = new URL(request.url ?? '/', 'http://stand-in');
      const body = await readBody(request);
      const params =
        request.method === 'GET' ? decodeStripeForm(url.search.slice(1)) : decodeStripeForm(body);
      let match: RegExpExecArray | null;
      if ((match = /^\/pay\/([^/]+)$/.exec(url.pathname))) {
        // The hosted checkout page: GET shows a pay button, POST pays and goes back to the site.
        const id = match[1] ?? '';
        if (request.method === 'POST') {
          const paid = pay(id);
          response.writeHead(303, { location: paid.successUrl });
          return response.end();
        }
        response.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
        return response.end(
          `<!doctype html><meta charset="utf-8"><link rel="icon" href="data:,"><title>Stripe Checkout (stand-in)</title><form method="post"><button>Payer</button></form>`,
        );
      }
      calls.push({ method: request.method ?? 'GET', path: url.pathname, params, headers: request.headers });
      const reply = api(request, url.pathname, params);
      response.writeHead(reply.status, { 'content-type': 'application/json', 'request-id': newId('req') });
      response.end(JSON.stringify(reply.body));
    })().catch((error: unknown) => {
      response.writeHead(500);
      response.end(String(error));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    url: base,
    env: {
      STRIPE_SECRET_KEY: STAND_IN_SECRET_KEY,
      STRIPE_WEBHOOK_SECRET: STAND_IN_WEBHOOK_SECRET,
      STRIPE_API_URL: base,
      STRIPE_PRICE_MONTHLY: monthly,
      STRIPE_PRICE_YEARLY: yearly,
    },
    prices: { monthly, yearly },
    calls,
    callsTo: (method, path) =>
      calls.filter(
        (c) => c.method === method && (typeof path === 'string' ? c.path === path : path.test(c.path)),
      ),
    session: (id) => sessions.get(id),
    subscription: (id) => subscriptions.get(id),
    pay,
    refund: (chargeId, amount) => {
      const charge = charges.get(chargeId);
      if (!charge) throw new Error(`No charge ${chargeId}`);
      charge.amount_refunded = Math.min(charge.amount, charge.amount_refunded + (amount ?? charge.amount));
      charge.refunded = charge.amount_refunded === charge.amount;
      return structuredClone(charge);
    },
    updateSubscription: (id, change) => {
      const subscription = subscriptions.get(id);
      if (!subscription) throw new Error(`No subscription ${id}`);
      Object.assign(subscription, change);
      return subscription;
    },
    signedEvent: (type, object, secret = STAND_IN_WEBHOOK_SECRET) => {
      const id = newId('evt');
      const payload = JSON.stringify({
        id,
        object: 'event',
        type,
        created: now(),
        livemode: false,
        api_version: '2026-10-28.endive',
        data: { object },
      });
      return { id, payload, signature: signer.webhooks.generateTestHeaderString({ payload, secret }) };
    },
    failEverything: (fail) => {
      failing = fail;
    },
    close: () =>
      new Promise((resolve) =>
        server.close(() => {
          resolve();
        }),
      ),
  };
}
