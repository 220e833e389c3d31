import { Inject, Injectable, Logger } from '@nestjs/common';
import type { AppConfig } from '../config/app-config.js';
import { APP_CONFIG } from '../config/config.module.js';
import { PublicationSettings } from '../settings/publication-settings.js';
import type { MemberRow, SubscriberRow } from '../database/schema.js';
import { InvalidInputException } from '../http/api-error.js';
import { longDateFormat } from '../i18n/dates.js';
import { messagesFor } from '../i18n/messages.js';
import { normaliseEmail } from '../lib/email-address.js';
import { SubscriberTokens } from '../mail/subscriber-tokens.js';
import { TransactionalMailer } from '../mail/transactional-mailer.js';
import type { MemberJobs } from '../queue/jobs.js';
import { MemberQueue } from '../queue/member.queue.js';
import { type RateDecision, RateLimiter } from '../redis/rate-limiter.js';
import { SubscribersRepository } from '../subscribers/subscribers.repository.js';
import { MemberLinks, SIGN_IN_LINK_SECONDS } from './member-links.js';
import { MemberSessions } from './member-sessions.js';

/** Links a reader may ask for one address, and from one client, per window. */
const LINKS_PER_ADDRESS = { max: 5, windowSeconds: 3600 } as const;

/** A path of this blog to come back to; anything else (another site, a scheme) goes home. */
export function blogPath(next: unknown): string {
  return typeof next === 'string' && /^\/(?![/\\])[\x21-\x7e]*$/.test(next) && !next.startsWith('/admin')
    ? next
    : '/';
}

/** A member session as its cookie names it, before its subscriber is read. */
export interface SignedInSession {
  readonly sessionId: string;
  readonly subscriberId: string;
}

/** Who a member is, as the blog shows it. */
export interface Member<Row extends MemberRow = SubscriberRow> {
  readonly subscriber: Row;
  readonly sessionId: string;
}

/**
 * Readers who sign in: subscribers are the members, with no password. A sign-in link goes by email
 * to an address the publication knows; opening it and pressing its button starts a member session.
 */
@Injectable()
export class MembersService {
  private readonly logger = new Logger(MembersService.name);
  private readonly dateFormat: () => Intl.DateTimeFormat;

  constructor(
    @Inject(SubscribersRepository) private readonly subscribers: SubscribersRepository,
    @Inject(MemberLinks) private readonly links: MemberLinks,
    @Inject(MemberSessions) private readonly sessions: MemberSessions,
    @Inject(MemberQueue) private readonly queue: MemberQueue,
    @Inject(RateLimiter) private readonly rateLimiter: RateLimiter,
    @Inject(TransactionalMailer) private readonly mailer: TransactionalMailer,
    @Inject(SubscriberTokens) private readonly tokens: SubscriberTokens,
    @Inject(PublicationSettings) private readonly publication: PublicationSettings,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {
    this.dateFormat = publication.derive((current) => longDateFormat(current.locale, current.timeZone));
  }

  /**
   * Checks the address and the limits, and queues the request: the answer is the same, in the same
   * time, whether the address belongs to a member or not. Past a limit, the refusal says when to
   * try again, for any address.
   */
  async requestSignIn(email: string, next: string, client: string): Promise<RateDecision> {
    const address = normaliseEmail(email);
    if (!address.ok) throw InvalidInputException.field('email', address.reason, address.code);
    const byClient = await this.rateLimiter.hit('member-link-client', client, this.config.signInRateLimit);
    if (!byClient.allowed) return byClient;
    const byAddress = await this.rateLimiter.hit(
      'member-link-address',
      address.email.toLowerCase(),
      LINKS_PER_ADDRESS,
    );
    if (!byAddress.allowed) return byAddress;
    await this.queue.add('sign-in-link', { email: address.email, next: blogPath(next) });
    return byAddress;
  }

  /** Worker side: mails a link to a member, and nothing to an address that is not one. */
  async sendSignInLink(request: MemberJobs['sign-in-link']): Promise<void> {
    const subscriber = await this.subscribers.findByEmail(request.email);
    if (subscriber?.status !== 'active') return;
    const token = await this.links.issue({ subscriberId: subscriber.id, next: request.next });
    const t = messagesFor(this.publication.current().locale);
    await this.mailer.send('sign-in', subscriber, {
      subject: `${t.emailSignInSubject} ${this.publication.current().name}`,
      preheader: t.emailSignInText,
      signInUrl: `${this.config.publicUrl}/sign-in/${token}`,
      ttlMinutes: SIGN_IN_LINK_SECONDS / 60,
    });
  }

  /** Worker side: tells an active member what became of their paid subscription. */
  async sendNotice(request: MemberJobs['member-notice']): Promise<void> {
    const subscriber = await this.subscribers.findById(request.subscriberId);
    if (subscriber?.status !== 'active') return;
    const t = messagesFor(this.publication.current().locale);
    const until = request.until ? this.dateFormat().format(new Date(request.until)) : '';
    const notice =
      request.notice === 'payment-failed'
        ? {
            subject: t.noticePaymentFailedSubject,
            text: t.noticePaymentFailedText.replace('{date}', until),
            buttonUrl: `${this.config.publicUrl}/account`,
            buttonLabel: t.noticePaymentFailedButton,
          }
        : {
            subject: t.noticePremiumEndedSubject,
            text: t.noticePremiumEndedText,
            buttonUrl: this.config.premiumUrl,
            buttonLabel: t.noticePremiumEndedButton,
          };
    await this.mailer.send('member-notice', subscriber, {
      ...notice,
      subject: `${notice.subject} — ${this.publication.current().name}`,
      preheader: notice.text,
    });
    this.logger.log({ subscriberId: subscriber.id, notice: request.notice }, 'Member told');
  }

  linkIsLive(token: string): Promise<boolean> {
    return this.links.isLive(token);
  }

  /**
   * Uses a sign-in link: a new session for its member, and where to go next. Undefined when the
   * link was used, has expired, was never issued, or its member is no longer active.
   */
  async signIn(token: string): Promise<{ sessionId: string; next: string } | undefined> {
    const link = await this.links.consume(token);
    if (!link) return undefined;
    const subscriber = await this.subscribers.findById(link.subscriberId);
    if (subscriber?.status !== 'active') return undefined;
    const sessionId = await this.sessions.create(subscriber.id);
    this.logger.log({ subscriberId: subscriber.id }, 'Member signed in');
    return { sessionId, next: link.next };
  }

  /** A session for a subscriber whose identity something else proved (a payment this browser made). */
  async startSession(subscriberId: string): Promise<string> {
    const sessionId = await this.sessions.create(subscriberId);
    this.logger.log({ subscriberId }, 'Member signed in after paying');
    return sessionId;
  }

  /** Mails an active subscriber a sign-in link, as if they had asked for one. */
  async offerSignIn(email: string, next: string): Promise<void> {
    await this.queue.add('sign-in-link', { email, next: blogPath(next) });
  }

  /** The member of a session cookie, while the session lives and the subscriber is active. */
  async member(sessionId: string | undefined): Promise<Member | undefined> {
    const session = await this.session(sessionId);
    return session && this.memberOf(session, await this.subscribers.findById(session.subscriberId));
  }

  /**
   * The session a cookie names, its idle expiry pushed back; undefined when there is none. Its
   * subscriber is not read here: a page may read that row with its own query, then ask `memberOf`.
   */
  async session(sessionId: string | undefined): Promise<SignedInSession | undefined> {
    const session = await this.sessions.get(sessionId);
    return session && sessionId !== undefined ? { sessionId, subscriberId: session.subscriberId } : undefined;
  }

  /**
   * The member behind a session, given their subscriber row as read: only an active subscriber is
   * signed in; the session of one erased, unsubscribed or bounced since is ended.
   */
  async memberOf<Row extends MemberRow>(
    session: SignedInSession,
    subscriber: Row | undefined,
  ): Promise<Member<Row> | undefined> {
    if (subscriber?.id !== session.subscriberId || subscriber.status !== 'active') {
      await this.sessions.destroy(session.sessionId);
      return undefined;
    }
    return { subscriber, sessionId: session.sessionId };
  }

  signOut(sessionId: string): Promise<void> {
    return this.sessions.destroy(sessionId);
  }

  /** The member's own preferences page (name, unsubscribe, export, erasure), as their emails link it. */
  preferencesUrl(subscriber: SubscriberRow): string {
    return `${this.config.publicUrl}/preferences/${this.tokens.manageToken(subscriber.id)}`;
  }
}
