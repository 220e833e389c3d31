import { ConflictException, Inject, Injectable, Logger } from '@nestjs/common';
import { Redis } from 'ioredis';
import type Stripe from 'stripe';
import type { AppConfig, Locale } from '../config/app-config.js';
import { APP_CONFIG } from '../config/config.module.js';
import { ExpiringCache } from '../lib/expiring-cache.js';
import { PUBLICATION_REFRESH_MS, PublicationSettings } from '../settings/publication-settings.js';
import type { PaidSubscriptionRow, SubscriberRow } from '../database/schema.js';
import { InvalidInputException } from '../http/api-error.js';
import { normaliseEmail } from '../lib/email-address.js';
import { MemberQueue } from '../queue/member.queue.js';
import { SubscribersRepository } from '../subscribers/subscribers.repository.js';
import { type PremiumOffer, premiumOffer, SettingsRepository } from '../settings/settings.repository.js';
import { defaultOfferBenefits, messagesFor } from '../i18n/messages.js';
import {
  type PaymentMonth,
  type PaymentTotals,
  PaidSubscriptionsRepository,
} from './paid-subscriptions.repository.js';
import { premiumGrant } from './premium-rule.js';
import { formatMoney } from '../i18n/money.js';
import {
  type CheckoutState,
  PaymentProviderError,
  type Price,
  StripeGateway,
  toDate,
} from './stripe-gateway.js';

/** The webhook events Dépêche applies: the ones to enable on the endpoint in Stripe. */
export const USED_STRIPE_EVENTS = [
  'checkout.session.completed',
  'customer.subscription.created',
  'customer.subscription.updated',
  'customer.subscription.deleted',
  'invoice.paid',
  'invoice.payment_failed',
  'charge.refunded',
] as const;

/** What became of a webhook event. */
export type EventOutcome = { readonly applied: true } | { readonly applied: false; readonly reason: string };

const APPLIED: EventOutcome = { applied: true };
const ignored = (reason: string): EventOutcome => ({ applied: false, reason });

/** The longest grace an editor may give a failed payment, as PAYMENT_GRACE_DAYS allows. */
export const MAX_GRACE_DAYS = 60;

/** How long after paying a new reader may be signed in by coming back from the checkout. */
const CHECKOUT_SIGN_IN_SECONDS = 24 * 3600;

/** A reader back from a completed checkout. */
export interface CompletedCheckout {
  readonly subscriber: SubscriberRow;
  /**
   * Whether coming back signs them in: only a reader whose membership this payment created, once.
   * Anyone may type any address into a checkout; paying for an address does not make it yours.
   */
  readonly signIn: boolean;
}

/** The lowest price a month among these plans (a year's twelfth), as the locale writes it. */
function lowestMonthly(locale: Locale, plans: readonly Price[]): string | undefined {
  const monthly = plans.map((plan) => ({
    currency: plan.currency,
    amount: plan.interval === 'year' ? Math.round(plan.amount / 12) : plan.amount,
  }));
  const lowest = monthly.sort((a, b) => a.amount - b.amount)[0];
  return lowest ? formatMoney(locale, lowest.currency, lowest.amount) : undefined;
}

/**
 * Readers who pay: checkout, the billing portal, and the tier following each paid subscription.
 * Stripe's word is always read back from its API (never taken from an event's payload), so an
 * event that arrives late, twice, or before another changes nothing it should not.
 */
@Injectable()
export class PaymentsService {
  private readonly logger = new Logger(PaymentsService.name);
  /**
   * The offer as last made, for as long as the publication's settings are (a paywall is on every
   * teaser page a stranger reads: two reads of the settings and Stripe's prices each time otherwise).
   * A change made here takes effect at once; one made by another process, within that time.
   */
  private readonly offers = new ExpiringCache<Promise<PremiumOffer>>(PUBLICATION_REFRESH_MS, 1);
  /**
   * The offer last made: one made again that says the same is this very object, so that what is
   * kept from an offer (an article page's paywall) is made again when the offer changes, not each
   * time it is read again.
   */
  private lastOffer: PremiumOffer | undefined;

  constructor(
    @Inject(StripeGateway) private readonly gateway: StripeGateway,
    @Inject(PaidSubscriptionsRepository) private readonly paid: PaidSubscriptionsRepository,
    @Inject(SubscribersRepository) private readonly subscribers: SubscribersRepository,
    @Inject(MemberQueue) private readonly memberQueue: MemberQueue,
    @Inject(SettingsRepository) private readonly settings: SettingsRepository,
    @Inject(Redis) private readonly redis: Redis,
    @Inject(PublicationSettings) private readonly publication: PublicationSettings,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  get enabled(): boolean {
    return this.gateway.enabled;
  }

  /** The plans on offer, monthly first: the prices set on the desk, else those named in the environment. */
  async plans(): Promise<Price[]> {
    const chosen = await this.settings.get(['stripe.price.month', 'stripe.price.year']);
    const ids = [
      chosen['stripe.price.month'] ?? this.config.stripe?.monthlyPriceId,
      chosen['stripe.price.year'] ?? this.config.stripe?.yearlyPriceId,
    ];
    const prices = await Promise.all(
      ids.filter((id) => id !== undefined).map((id) => this.gateway.price(id)),
    );
    return prices.sort((a, b) => (a.interval === b.interval ? 0 : a.interval === 'month' ? -1 : 1));
  }

  /**
   * The premium offer as a reader is shown it: the desk's words, and the lowest price a month on
   * offer ("4,17 €") as Stripe says now; no price with payments off, no price, or Stripe out of
   * reach (a paywall does without). A price that changed is kept in the settings, for the emails
   * that make the same offer (see premiumOffer).
   */
  offer(): Promise<PremiumOffer> {
    return this.offers.remember('offer', () => this.makeOffer());
  }

  private async makeOffer(): Promise<PremiumOffer> {
    const [stored, fromPrice] = await Promise.all([
      premiumOffer(this.settings, defaultOfferBenefits(messagesFor(this.publication.current().locale)), true),
      this.livePrice(),
    ]);
    if (fromPrice !== undefined && fromPrice !== stored.fromPrice)
      await this.settings.set({ 'offer.from_price': fromPrice });
    const offer = { benefits: stored.benefits, ...(fromPrice ? { fromPrice } : {}) };
    const last = this.lastOffer;
    if (
      last !== undefined &&
      last.fromPrice === offer.fromPrice &&
      last.benefits.length === offer.benefits.length &&
      last.benefits.every((line, index) => line === offer.benefits[index])
    )
      return last;
    this.lastOffer = offer;
    return offer;
  }

  private async livePrice(): Promise<string | undefined> {
    if (!this.enabled) return undefined;
    try {
      return lowestMonthly(this.publication.current().locale, await this.plans());
    } catch (error) {
      if (!(error instanceof PaymentProviderError)) throw error;
      return undefined;
    }
  }

  /** What premium gives, as the editor words it: empty lines bring back the locale's words. */
  async setOfferLines(lines: readonly string[]): Promise<void> {
    await this.settings.set({ 'offer.benefits': lines.join('\n') });
    this.offers.clear();
  }

  /**
   * Creates the premium product and its monthly and yearly prices in Stripe (amounts in the minor
   * unit of the publication's currency), and offers them from now on. Members keep the price they
   * pay; Stripe prices cannot change, so new amounts are new prices.
   */
  async setPrices(monthly: number, yearly: number): Promise<Price[]> {
    const created = await this.gateway.createPrices({
      productName: `${this.publication.current().name} — premium`,
      currency: this.config.currency,
      monthly,
      yearly,
    });
    await this.settings.set({
      'stripe.price.month': created.monthly.id,
      'stripe.price.year': created.yearly.id,
      'offer.from_price':
        lowestMonthly(this.publication.current().locale, [created.monthly, created.yearly]) ?? '',
    });
    this.offers.clear();
    this.logger.log({ monthly: created.monthly.id, yearly: created.yearly.id }, 'Premium prices set');
    return [created.monthly, created.yearly];
  }

  /** How long a member whose payment failed stays premium: the desk's setting, else PAYMENT_GRACE_DAYS. */
  async graceDays(): Promise<number> {
    const set = (await this.settings.get(['payments.grace_days']))['payments.grace_days'];
    return set === undefined ? this.config.paymentGraceDays : Number(set);
  }

  /** The editor's grace period, from 0 to MAX_GRACE_DAYS days; it applies to payments failing from now on. */
  async setGraceDays(days: number): Promise<void> {
    if (!Number.isInteger(days) || days < 0 || days > MAX_GRACE_DAYS)
      throw InvalidInputException.field(
        'grace_days',
        `must be a whole number of days from 0 to ${MAX_GRACE_DAYS}`,
        'grace-days',
      );
    await this.settings.set({ 'payments.grace_days': String(days) });
  }

  /** Paying members, monthly revenue, and paid subscriptions started and ended per month. */
  async figures(months: number): Promise<{ totals: PaymentTotals; months: PaymentMonth[] }> {
    return { totals: await this.paid.totals(), months: await this.paid.byMonth(months) };
  }

  /** Each listed subscriber's most recent paid subscription, for the desk. */
  latestSubscriptions(subscriberIds: readonly string[]): Promise<Map<string, PaidSubscriptionRow>> {
    return this.paid.latestFor(subscriberIds);
  }

  /**
   * Opens a checkout for a member, or for an address typed on the upgrade page; returns the page
   * to send the reader to. `next` is the path of the blog to come back to.
   */
  async checkout(input: {
    readonly interval: string | undefined;
    readonly member: SubscriberRow | undefined;
    readonly email: string | undefined;
    readonly next: string;
  }): Promise<string> {
    const price = (await this.plans()).find((plan) => plan.interval === input.interval);
    if (!price) throw InvalidInputException.field('plan', 'choose the monthly or the yearly plan');
    const { member } = input;
    let email = member?.email;
    if (!member) {
      const address = normaliseEmail(input.email ?? '');
      if (!address.ok) throw InvalidInputException.field('email', address.reason, address.code);
      email = address.email;
    }
    if (member?.tier === 'premium') throw new ConflictException('You are premium already');
    const back = encodeURIComponent(input.next);
    // Only a signed-in member's checkout names their subscriber and Stripe customer: a checkout
    // opened for a typed address must not show that customer's saved cards to whoever typed it.
    // The payment finds its subscriber by address when it completes (applyCheckout).
    return this.gateway.createCheckout({
      price,
      email: email ?? '',
      customerId: member?.externalRef ?? null,
      subscriberId: member?.id ?? null,
      successUrl: `${this.config.publicUrl}/upgrade/done?session_id={CHECKOUT_SESSION_ID}&next=${back}`,
      cancelUrl: `${this.config.publicUrl}/upgrade?next=${back}`,
    });
  }

  /** The reader is back from Stripe: their payment applied now, whether or not its webhook came. */
  async completeCheckout(sessionId: string): Promise<CompletedCheckout | undefined> {
    if (!/^cs_[A-Za-z0-9_]{1,250}$/.test(sessionId)) return undefined;
    const state = await this.gateway.checkout(sessionId);
    if (!state?.complete) return undefined;
    const subscriber = await this.applyCheckout(state);
    if (!subscriber) return undefined;
    const fresh = Date.now() - state.createdAt.getTime() < CHECKOUT_SIGN_IN_SECONDS * 1000;
    const createdByPayment =
      subscriber.consentSource === 'payment' && subscriber.externalRef === state.customerId;
    const signIn =
      fresh &&
      createdByPayment &&
      (await this.redis.set(
        `${this.config.queuePrefix}:checkout-sign-in:${sessionId}`,
        '1',
        'EX',
        CHECKOUT_SIGN_IN_SECONDS,
        'NX',
      )) === 'OK';
    return { subscriber, signIn };
  }

  /** Stripe's customer portal for a member who has paid: card, invoices, cancellation. */
  async billingPortal(subscriber: SubscriberRow): Promise<string> {
    if (!subscriber.externalRef) throw new ConflictException('No payment on file for this member');
    return this.gateway.portal(subscriber.externalRef, `${this.config.publicUrl}/account`);
  }

  /** The member's most recent paid subscription. */
  async latestSubscription(subscriberId: string): Promise<PaidSubscriptionRow | undefined> {
    return (await this.paid.latestFor([subscriberId])).get(subscriberId);
  }

  /** Applies a verified webhook event once, however often and in whatever order it comes. */
  async applyEvent(event: Stripe.Event): Promise<EventOutcome> {
    const apply = this.handlerFor(event);
    if (!apply) return ignored(`event type ${event.type} is not used`);
    if (!(await this.paid.claimEvent(event.id, event.type))) return ignored('event already applied');
    let outcome: EventOutcome;
    try {
      outcome = await apply();
    } catch (error) {
      await this.paid.releaseEvent(event.id);
      throw error;
    }
    // An event that changed nothing is not kept: if it comes again, it is looked at again.
    if (!outcome.applied) await this.paid.releaseEvent(event.id);
    this.logger.log({ eventId: event.id, type: event.type, ...outcome }, 'Stripe event');
    return outcome;
  }

  /** What applying an event means, for the types Dépêche uses; undefined for any other. */
  private handlerFor(event: Stripe.Event): (() => Promise<EventOutcome>) | undefined {
    if (event.type === 'checkout.session.completed') {
      const sessionId = event.data.object.id;
      return async () => {
        const state = await this.gateway.checkout(sessionId);
        if (!state?.complete) return ignored('checkout not complete');
        return (await this.applyCheckout(state)) ? APPLIED : ignored('checkout without a customer');
      };
    }
    if (
      event.type === 'customer.subscription.created' ||
      event.type === 'customer.subscription.updated' ||
      event.type === 'customer.subscription.deleted'
    ) {
      const subscriptionId = event.data.object.id;
      return () => this.syncSubscription(subscriptionId);
    }
    if (event.type === 'invoice.paid' || event.type === 'invoice.payment_failed') {
      const subscriptionId = invoiceSubscription(event.data.object);
      const failed = event.type === 'invoice.payment_failed';
      // A payment made after a refund brings premium back; an older one, arriving late, does not.
      const invoice: Partial<Stripe.Invoice> = event.data.object;
      const paidAt = failed ? undefined : toDate(invoice.status_transitions?.paid_at);
      return async () => {
        if (!subscriptionId) return ignored('invoice of no subscription');
        const outcome = await this.syncSubscription(subscriptionId, undefined, paidAt);
        if (failed && outcome.applied) await this.tellPaymentFailed(subscriptionId);
        return outcome;
      };
    }
    if (event.type === 'charge.refunded') {
      const chargeId = event.data.object.id;
      return () => this.applyRefund(chargeId);
    }
    return undefined;
  }

  /**
   * A payment refunded in full takes premium back from its member at once (they are told), until
   * they pay again; a partial refund (a goodwill gesture) changes nothing.
   */
  private async applyRefund(chargeId: string): Promise<EventOutcome> {
    const charge = await this.gateway.charge(chargeId);
    if (!charge) return ignored('unknown charge');
    if (!charge.refunded) return ignored('refunded in part');
    const subscriber = charge.customerId
      ? await this.subscribers.findByCustomer(charge.customerId)
      : undefined;
    if (!subscriber) return ignored('unknown customer');
    if ((await this.paid.revokeForRefund(subscriber.id, new Date())) === 0)
      return ignored('no premium paid for');
    await this.refreshTiers([subscriber.id]);
    return APPLIED;
  }

  /** Asks the member to update their card, while premium lasts for them to do so. */
  private async tellPaymentFailed(subscriptionId: string): Promise<void> {
    const row = await this.paid.find(subscriptionId);
    if (row?.grantsPremium && row.premiumUntil)
      await this.memberQueue.add('member-notice', {
        subscriberId: row.subscriberId,
        notice: 'payment-failed',
        until: row.premiumUntil.toISOString(),
      });
  }

  /**
   * The subscriber a completed checkout is for: the one it was opened for, the customer's, the
   * address's, or a new one, confirmed by the payment itself. Their subscription is applied too.
   */
  private async applyCheckout(state: CheckoutState): Promise<SubscriberRow | undefined> {
    if (!state.customerId) return undefined;
    let subscriber =
      (state.subscriberId ? await this.subscribers.findById(state.subscriberId) : undefined) ??
      (await this.subscribers.findByCustomer(state.customerId)) ??
      (state.email ? await this.memberFor(state.email) : undefined);
    if (!subscriber) return undefined;
    if (subscriber.status === 'pending' || subscriber.status === 'unsubscribed') {
      // Paying for the newsletter is asking for it.
      subscriber =
        (await this.subscribers.update(subscriber.id, {
          status: 'active',
          unsubscribedAt: null,
          confirmedAt: subscriber.confirmedAt ?? new Date(),
        })) ?? subscriber;
    }
    if (!(await this.subscribers.linkCustomer(subscriber.id, state.customerId))) {
      this.logger.warn(
        { subscriberId: subscriber.id, customerId: state.customerId },
        'Checkout for a customer already linked to another subscriber: applied to that one',
      );
      subscriber = (await this.subscribers.findByCustomer(state.customerId)) ?? subscriber;
    }
    if (state.subscriptionId) await this.syncSubscription(state.subscriptionId, subscriber.id);
    return this.subscribers.findById(subscriber.id);
  }

  /** The subscriber with this address, or a new one whose consent is the payment. */
  private async memberFor(email: string): Promise<SubscriberRow | undefined> {
    const address = normaliseEmail(email);
    if (!address.ok) return undefined;
    const existing = await this.subscribers.findByEmail(address.email);
    if (existing) return existing;
    const created = await this.subscribers.insert({
      email: address.email,
      tier: 'free',
      status: 'active',
      consentSource: 'payment',
      consentWording: 'checkout',
      confirmedAt: new Date(),
    });
    return created ?? (await this.subscribers.findByEmail(address.email));
  }

  /** Reads a subscription back from Stripe and lets its member's tier follow. */
  private async syncSubscription(
    id: string,
    knownSubscriberId?: string,
    paidAt?: Date | null,
  ): Promise<EventOutcome> {
    const state = await this.gateway.subscription(id);
    if (!state) return ignored('unknown subscription');
    const subscriberId =
      knownSubscriberId ??
      (state.subscriberId ? (await this.subscribers.findById(state.subscriberId))?.id : undefined) ??
      (await this.subscribers.findByCustomer(state.customerId))?.id;
    if (!subscriberId) return ignored('unknown customer');
    const previous = await this.paid.find(id);
    const now = new Date();
    const pastDueSince = state.status === 'past_due' ? (previous?.pastDueSince ?? now) : null;
    const refunded = previous?.refundedAt ?? null;
    const refundedAt = refunded && paidAt && paidAt > refunded ? null : refunded;
    const grant = premiumGrant(
      { status: state.status, endsAt: state.endsAt, pastDueSince, refundedAt },
      await this.graceDays(),
      now,
    );
    await this.paid.save(state, subscriberId, pastDueSince, refundedAt, grant);
    await this.refreshTiers([subscriberId]);
    return APPLIED;
  }

  /** Lets tiers follow, and tells each member whose premium ended. */
  private async refreshTiers(ids: readonly string[]): Promise<void> {
    for (const change of await this.subscribers.refreshTiers(ids)) {
      this.logger.log(
        { subscriberId: change.subscriber.id, from: change.previousTier, to: change.subscriber.tier },
        'Tier changed',
      );
      if (change.previousTier === 'premium' && change.subscriber.tier === 'free')
        await this.memberQueue.add('member-notice', {
          subscriberId: change.subscriber.id,
          notice: 'premium-ended',
        });
    }
  }

  /** The tick's part: grants whose time ran out (cancelled periods, graces, editors' grants) end. */
  async endLapsedPremium(): Promise<void> {
    const ids = [...(await this.paid.endLapsedGrants()), ...(await this.subscribers.endLapsedGrants())];
    if (ids.length > 0) await this.refreshTiers([...new Set(ids)]);
  }
}

/** The subscription an invoice bills, in the current API's shape and the one before. */
function invoiceSubscription(invoice: Stripe.Invoice): string | undefined {
  const current = invoice.parent?.subscription_details?.subscription;
  const legacy = (invoice as { subscription?: string | { id: string } | null }).subscription;
  const value = current ?? legacy;
  return typeof value === 'string' ? value : (value?.id ?? undefined);
}
