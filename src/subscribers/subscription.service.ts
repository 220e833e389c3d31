import { createHash } from 'node:crypto';
import { BadRequestException, Inject, Injectable, Logger } from '@nestjs/common';
import type { AppConfig } from '../config/app-config.js';
import { APP_CONFIG } from '../config/config.module.js';
import { CommentsService } from '../comments/comments.service.js';
import { PublicationSettings } from '../settings/publication-settings.js';
import type { ConsentSource, SubscriberRow } from '../database/schema.js';
import { DeliveriesRepository } from '../delivery/deliveries.repository.js';
import { MessageEventsRepository } from '../delivery/message-events.repository.js';
import { ClicksRepository } from '../delivery/clicks.repository.js';
import type { SubscriptionJobs } from '../queue/jobs.js';
import { SubscriptionQueue } from '../queue/subscription.queue.js';
import { InvalidInputException } from '../http/api-error.js';
import { type Messages, messagesFor } from '../i18n/messages.js';
import { TransactionalMailer } from '../mail/transactional-mailer.js';
import { normaliseEmail } from '../lib/email-address.js';
import { SubscriberTokens } from '../mail/subscriber-tokens.js';
import { RECIPIENT_MARKERS } from '../mail/prepared-message.js';
import { SubscribersRepository } from './subscribers.repository.js';

export interface SubscribeInput {
  readonly email: string;
  readonly name: string;
  readonly ip: string | null;
  readonly userAgent: string | null;
  readonly source: ConsentSource;
}

/** A link whose token is forged, mangled, or names a subscriber who is gone. */
export class InvalidLinkException extends BadRequestException {}

/** Everything a subscriber does from the blog and from the links in their emails. */
@Injectable()
export class SubscriptionService {
  private readonly logger = new Logger(SubscriptionService.name);
  /** Which wording of the form the consent was given to: changes whenever the wording does. */
  private readonly formWording: () => string;

  constructor(
    @Inject(SubscribersRepository) private readonly repository: SubscribersRepository,
    @Inject(SubscriptionQueue) private readonly queue: SubscriptionQueue,
    @Inject(TransactionalMailer) private readonly mailer: TransactionalMailer,
    @Inject(SubscriberTokens) private readonly tokens: SubscriberTokens,
    @Inject(DeliveriesRepository) private readonly deliveries: DeliveriesRepository,
    @Inject(MessageEventsRepository) private readonly events: MessageEventsRepository,
    @Inject(ClicksRepository) private readonly clicks: ClicksRepository,
    @Inject(PublicationSettings) private readonly publication: PublicationSettings,
    @Inject(CommentsService) private readonly comments: CommentsService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {
    this.formWording = publication.derive(({ locale }) => {
      const t = messagesFor(locale);
      const digest = createHash('sha256').update(`${t.subscribeTitle}\n${t.subscribeText}`).digest('hex');
      return `${locale}-${digest.slice(0, 12)}`;
    });
  }

  /** The wording of the publication's locale, as it stands. */
  private get t(): Messages {
    return messagesFor(this.publication.current().locale);
  }

  /**
   * Validates the address and queues the request. Whether the address is new, pending, active or
   * suppressed is decided by the worker, so this answers the same, in the same time, for all.
   */
  async requestSubscription(input: SubscribeInput): Promise<void> {
    const address = normaliseEmail(input.email);
    if (!address.ok) throw InvalidInputException.field('email', address.reason, address.code);
    await this.queue.add('subscribe-request', {
      email: address.email,
      name: input.name.trim(),
      consent: {
        source: input.source,
        at: new Date().toISOString(),
        ip: input.ip,
        userAgent: input.userAgent?.slice(0, 500) ?? null,
        wording: this.formWording(),
      },
    });
  }

  /** Worker side of a subscribe request. */
  async handleSubscribeRequest(request: SubscriptionJobs['subscribe-request']): Promise<void> {
    if (await this.repository.isSuppressed(request.email)) return;
    const { token, hash } = SubscriberTokens.confirmationToken();
    const subscriber = await this.repository.armConfirmation({
      email: request.email,
      name: request.name,
      locale: this.publication.current().locale,
      consent: request.consent,
      tokenHash: hash,
      expiresAt: new Date(Date.now() + this.config.confirmTokenTtlHours * 3_600_000),
    });
    if (!subscriber) return;
    const t = this.t;
    try {
      await this.mailer.send('confirm', subscriber, {
        subject: `${t.emailConfirmSubject} ${this.publication.current().name}`,
        preheader: t.emailConfirmText,
        confirmUrl: `${this.config.publicUrl}/confirm/${token}`,
        ttlHours: this.config.confirmTokenTtlHours,
      });
    } catch (error) {
      // The retry must be allowed to send despite the hourly limit this request just armed.
      await this.repository.releaseConfirmation(subscriber.id);
      throw error;
    }
  }

  confirmationIsLive(token: string): Promise<boolean> {
    return this.repository.confirmationIsLive(SubscriberTokens.hashConfirmationToken(token));
  }

  /** Confirms the subscription; false when the token was used, expired or never existed. */
  async confirm(token: string): Promise<boolean> {
    const subscriber = await this.repository.confirm(SubscriberTokens.hashConfirmationToken(token));
    if (!subscriber) return false;
    this.logger.log({ subscriberId: subscriber.id }, 'Subscription confirmed');
    if (this.config.welcomeEmail) {
      await this.queue.add(
        'send-welcome',
        { subscriberId: subscriber.id },
        { jobId: `welcome-${subscriber.id}` },
      );
    }
    return true;
  }

  async sendWelcome(subscriberId: string): Promise<void> {
    const subscriber = await this.repository.findById(subscriberId);
    if (subscriber?.status !== 'active') return;
    const t = this.t;
    const manage = this.tokens.manageToken(subscriber.id);
    await this.mailer.send('welcome', subscriber, {
      subject: `${t.emailWelcomeSubject} ${this.publication.current().name}`,
      preheader: t.emailWelcomeText,
      preferencesUrl: `${this.config.publicUrl}/preferences/${manage}`,
      unsubscribeUrl: `${this.config.publicUrl}/unsubscribe/${manage}`,
    });
  }

  /** The subscriber a manage link names; a forged or stale link is a 400. */
  async subscriberFor(token: string): Promise<SubscriberRow> {
    const id = this.tokens.verifyManageToken(token);
    const subscriber = id === undefined ? undefined : await this.repository.findById(id);
    if (!subscriber) throw new InvalidLinkException(this.t.manageLinkInvalid);
    return subscriber;
  }

  async unsubscribe(token: string): Promise<SubscriberRow> {
    const subscriber = await this.subscriberFor(token);
    await this.repository.unsubscribe(subscriber.id);
    // Counted in the report of the edition the reader left from (the last one sent to them).
    if (subscriber.status === 'active' || subscriber.status === 'pending')
      await this.events.recordUnsubscribe(subscriber.id);
    return subscriber;
  }

  async resubscribe(token: string): Promise<void> {
    await this.repository.resubscribe((await this.subscriberFor(token)).id);
  }

  async rename(token: string, name: string): Promise<void> {
    await this.repository.rename((await this.subscriberFor(token)).id, name.trim());
  }

  async erase(token: string): Promise<void> {
    const subscriber = await this.subscriberFor(token);
    await this.eraseSubscriber(subscriber.id, 'erasure');
    this.logger.log({ subscriberId: subscriber.id }, 'Subscriber erased at their request');
  }

  /**
   * Erasure, whoever asks: what the subscriber wrote goes first (comments), then the subscriber and
   * everything kept about them, with their address suppressed. False when there is no such one.
   */
  async eraseSubscriber(id: string, reason: 'erasure' | 'editor'): Promise<boolean> {
    await this.comments.forgetAuthor(id);
    return this.repository.erase(id, reason);
  }

  /** What the publication holds about a subscriber, as they may download it. */
  async exportData(token: string): Promise<object> {
    const s = await this.subscriberFor(token);
    return {
      exported_at: new Date().toISOString(),
      publication: { name: this.publication.current().name, url: this.config.publicUrl },
      profile: {
        email: s.email,
        name: s.name,
        tier: s.tier,
        status: s.status,
        locale: s.locale,
        created_at: s.createdAt.toISOString(),
        unsubscribed_at: s.unsubscribedAt?.toISOString() ?? null,
      },
      consent: {
        given_at: s.consentAt.toISOString(),
        ip: s.consentIp,
        user_agent: s.consentUserAgent,
        source: s.consentSource,
        form_wording: s.consentWording,
        confirmed_at: s.confirmedAt?.toISOString() ?? null,
      },
      deliveries: (await this.deliveries.ofSubscriber(s.id)).map((d) => ({
        edition: d.subject,
        status: d.status,
        sent_at: d.sentAt?.toISOString() ?? null,
      })),
      events: (await this.events.ofSubscriber(s.id)).map((event) => ({
        kind: event.kind,
        source: event.source,
        edition: event.subject,
        detail: event.detail,
        at: event.occurredAt.toISOString(),
      })),
      tier_changes: (await this.repository.tierChangesOf(s.id)).map((change) => ({
        from: change.fromTier,
        to: change.toTier,
        source: change.source,
        at: change.changedAt.toISOString(),
      })),
      clicks: (await this.clicks.ofSubscriber(s.id)).map((click) => ({
        edition: click.subject,
        url: click.url.replace(RECIPIENT_MARKERS.readerQuery, ''),
        clicks: click.clicks,
        first_at: click.firstAt.toISOString(),
        last_at: click.lastAt.toISOString(),
      })),
      opens: (await this.clicks.opensOfSubscriber(s.id)).map((open) => ({
        edition: open.subject,
        opens: open.opens,
        first_at: open.firstAt.toISOString(),
        last_at: open.lastAt.toISOString(),
      })),
      comments: await this.comments.exportOf(s.id),
    };
  }
}
