import { Inject, Injectable } from '@nestjs/common';
import type Stripe from 'stripe';
import type { AppConfig, StripeSettings } from '../config/app-config.js';
import { APP_CONFIG } from '../config/config.module.js';
import { ExpiringCache } from '../lib/expiring-cache.js';

export type PlanInterval = 'month' | 'year';

/** A price as the upgrade page shows it. */
export interface Price {
  readonly id: string;
  readonly interval: PlanInterval;
  /** In the currency's minor unit. */
  readonly amount: number;
  readonly currency: string;
}

/** A charge as Stripe says it is now: whose, and whether it was refunded in full. */
export interface ChargeState {
  readonly id: string;
  readonly customerId: string | null;
  readonly refunded: boolean;
}

/** A subscription as Stripe holds it now. */
export interface SubscriptionState {
  readonly id: string;
  readonly customerId: string;
  readonly status: string;
  readonly priceId: string | null;
  readonly interval: PlanInterval | null;
  readonly amount: number;
  readonly currency: string;
  readonly currentPeriodEnd: Date | null;
  /** When it ends on its own, as cancelled by its member: the period's end, or a set date. */
  readonly endsAt: Date | null;
  readonly startedAt: Date;
  readonly endedAt: Date | null;
  /** The subscriber it was bought for, as our checkout wrote it. */
  readonly subscriberId: string | null;
}

/** A checkout session as Stripe holds it now. */
export interface CheckoutState {
  readonly id: string;
  readonly complete: boolean;
  readonly customerId: string | null;
  readonly email: string | null;
  readonly subscriptionId: string | null;
  readonly subscriberId: string | null;
  readonly createdAt: Date;
}

export interface CheckoutRequest {
  readonly price: Price;
  readonly email: string;
  readonly customerId: string | null;
  readonly subscriberId: string | null;
  readonly successUrl: string;
  readonly cancelUrl: string;
}

/** Thrown when Stripe cannot be reached or refuses a call: not the reader's fault, try later. */
export class PaymentProviderError extends Error {
  override name = 'PaymentProviderError';
}

const PRICE_CACHE_MS = 10 * 60_000;
const planInterval = (interval: string | undefined): PlanInterval | null =>
  interval === 'month' || interval === 'year' ? interval : null;
export const toDate = (seconds: number | null | undefined): Date | null =>
  typeof seconds === 'number' ? new Date(seconds * 1000) : null;
const idOf = (value: string | { id: string } | null | undefined): string | null =>
  typeof value === 'string' ? value : (value?.id ?? null);

/**
 * Every call Dépêche makes to Stripe, with Stripe's shapes turned into ours. The SDK is loaded on
 * first use, so a publication without payments never loads it.
 */
@Injectable()
export class StripeGateway {
  private client: Promise<Stripe> | undefined;
  private readonly prices = new ExpiringCache<Price>(PRICE_CACHE_MS, 16);
  private readonly settings: StripeSettings | undefined;

  constructor(@Inject(APP_CONFIG) config: AppConfig) {
    this.settings = config.stripe;
  }

  get enabled(): boolean {
    return this.settings !== undefined;
  }

  private stripe(): Promise<Stripe> {
    const settings = this.settings;
    if (!settings) return Promise.reject(new Error('Payments are off: STRIPE_SECRET_KEY is not set'));
    this.client ??= import('stripe').then(
      ({ default: StripeClient }) =>
        new StripeClient(settings.secretKey, {
          ...(settings.api ?? {}),
          maxNetworkRetries: 2,
          timeout: 20_000,
          telemetry: false,
          appInfo: { name: 'Dépêche' },
        }),
    );
    return this.client;
  }

  /** Runs a call, turning Stripe's and the network's failures into one error a page can explain. */
  private async call<T>(what: string, run: (stripe: Stripe) => Promise<T>): Promise<T> {
    const stripe = await this.stripe();
    try {
      return await run(stripe);
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      throw new PaymentProviderError(`Stripe could not ${what}: ${message}`, { cause: error });
    }
  }

  /** Undefined when Stripe has no such object. */
  private async lookup<T>(what: string, run: (stripe: Stripe) => Promise<T>): Promise<T | undefined> {
    try {
      return await this.call(what, run);
    } catch (error) {
      const cause = (error as { cause?: { statusCode?: number } }).cause;
      if (cause?.statusCode === 404) return undefined;
      throw error;
    }
  }

  async price(id: string): Promise<Price> {
    const kept = this.prices.get(id);
    if (kept) return kept;
    const price = await this.call('read a price', (stripe) => stripe.prices.retrieve(id));
    const interval = planInterval(price.recurring?.interval);
    if (interval === null) throw new PaymentProviderError(`Price ${id} is not billed monthly or yearly`);
    const read: Price = {
      id,
      interval,
      amount: price.unit_amount ?? 0,
      currency: price.currency.toUpperCase(),
    };
    this.prices.set(id, read);
    return read;
  }

  /** A product with a monthly and a yearly price, as the desk creates them. */
  async createPrices(input: {
    readonly productName: string;
    readonly currency: string;
    readonly monthly: number;
    readonly yearly: number;
  }): Promise<{ monthly: Price; yearly: Price }> {
    return this.call('create the prices', async (stripe) => {
      const product = await stripe.products.create({ name: input.productName });
      const create = async (interval: PlanInterval, amount: number): Promise<Price> => {
        const price = await stripe.prices.create({
          product: product.id,
          currency: input.currency.toLowerCase(),
          unit_amount: amount,
          recurring: { interval },
        });
        const read: Price = { id: price.id, interval, amount, currency: input.currency.toUpperCase() };
        this.prices.set(price.id, read);
        return read;
      };
      return { monthly: await create('month', input.monthly), yearly: await create('year', input.yearly) };
    });
  }

  async createCheckout(request: CheckoutRequest): Promise<string> {
    const metadata = request.subscriberId ? { subscriber_id: request.subscriberId } : undefined;
    const session = await this.call('open a checkout', (stripe) =>
      stripe.checkout.sessions.create({
        mode: 'subscription',
        line_items: [{ price: request.price.id, quantity: 1 }],
        ...(request.customerId ? { customer: request.customerId } : { customer_email: request.email }),
        ...(request.subscriberId ? { client_reference_id: request.subscriberId } : {}),
        ...(metadata ? { metadata, subscription_data: { metadata } } : {}),
        success_url: request.successUrl,
        cancel_url: request.cancelUrl,
        locale: 'auto',
      }),
    );
    if (!session.url)
      throw new PaymentProviderError('Stripe opened a checkout without a page to send the reader to');
    return session.url;
  }

  async checkout(id: string): Promise<CheckoutState | undefined> {
    const session = await this.lookup('read a checkout', (stripe) => stripe.checkout.sessions.retrieve(id));
    if (!session) return undefined;
    return {
      id: session.id,
      complete: session.status === 'complete' && session.payment_status !== 'unpaid',
      customerId: idOf(session.customer),
      email: session.customer_details?.email ?? session.customer_email ?? null,
      subscriptionId: idOf(session.subscription),
      subscriberId: session.metadata?.subscriber_id ?? session.client_reference_id ?? null,
      createdAt: toDate(session.created) ?? new Date(),
    };
  }

  async subscription(id: string): Promise<SubscriptionState | undefined> {
    const sub = await this.lookup('read a subscription', (stripe) => stripe.subscriptions.retrieve(id));
    if (!sub) return undefined;
    const item = sub.items.data[0];
    const currentPeriodEnd = toDate(item?.current_period_end);
    return {
      id: sub.id,
      customerId: idOf(sub.customer) ?? '',
      status: sub.status,
      priceId: item?.price.id ?? null,
      interval: planInterval(item?.price.recurring?.interval),
      amount: (item?.price.unit_amount ?? 0) * (item?.quantity ?? 1),
      currency: (item?.price.currency ?? sub.currency).toUpperCase(),
      currentPeriodEnd,
      endsAt: toDate(sub.cancel_at) ?? (sub.cancel_at_period_end ? currentPeriodEnd : null),
      startedAt: toDate(sub.start_date) ?? new Date(),
      endedAt: toDate(sub.ended_at),
      subscriberId: sub.metadata.subscriber_id ?? null,
    };
  }

  async charge(id: string): Promise<ChargeState | undefined> {
    const charge = await this.lookup('read a charge', (stripe) => stripe.charges.retrieve(id));
    if (!charge) return undefined;
    return { id: charge.id, customerId: idOf(charge.customer), refunded: charge.refunded };
  }

  async portal(customerId: string, returnUrl: string): Promise<string> {
    const session = await this.call('open the billing portal', (stripe) =>
      stripe.billingPortal.sessions.create({ customer: customerId, return_url: returnUrl }),
    );
    return session.url;
  }

  /** The event of a webhook request, if its signature is Stripe's for our endpoint; else it throws. */
  async verifiedEvent(payload: string, signature: string): Promise<Stripe.Event> {
    const stripe = await this.stripe();
    return stripe.webhooks.constructEvent(payload, signature, this.settings?.webhookSecret ?? '');
  }
}
