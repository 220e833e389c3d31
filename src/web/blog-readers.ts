import { Inject, Injectable } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { ArticlesRepository } from '../articles/articles.repository.js';
import type { Audience } from '../content/access-gate.js';
import type { PageArticle } from '../articles/article-for-reader.js';
import type { ArticleRow, MemberRow, SubscriberRow } from '../database/schema.js';
import { PaymentsService } from '../payments/payments.service.js';
import { ReaderLinks } from '../editions/reader-links.js';
import { readerLinkIn } from '../mail/subscriber-tokens.js';
import { MemberCookies } from '../members/member-cookies.js';
import { type Member, MembersService } from '../members/members.service.js';
import { PUBLIC_CACHE_CONTROL } from './cache-policy.js';

/** Who reads a blog page, as far as the page's content is concerned. */
export interface BlogReader {
  /** What the access gate is asked for. */
  readonly audience: Extract<Audience, 'public' | 'free' | 'premium'>;
  /** Signed in: the header offers the account, the paywall an upgrade rather than a subscription. */
  readonly member: boolean;
  /** Came through an article link of their own email. */
  readonly viaEmailLink: boolean;
  /** A member whose paid subscription ended: the paywall offers to take it up again. */
  readonly lapsed?: boolean;
  /** The signed-in member's own tier (an email link may raise `audience` above it). */
  readonly memberTier?: SubscriberRow['tier'];
  /** The signed-in member's name, which their comment form starts with. */
  readonly memberName?: string;
}

/** An article page's article, its reader, and the signed-in member's row (for their comment). */
export interface ArticleRead {
  readonly article: PageArticle;
  readonly reader: BlogReader;
  readonly member: MemberRow | undefined;
}

const ANONYMOUS_READER: BlogReader = { audience: 'public', member: false, viaEmailLink: false };

/** A signed-in member as a page's reader, or anyone when there is none. */
export function readerOf(member: MemberRow | undefined, lapsed = false): BlogReader {
  return member
    ? {
        audience: member.tier,
        member: true,
        viaEmailLink: false,
        lapsed,
        memberTier: member.tier,
        memberName: member.name,
      }
    : ANONYMOUS_READER;
}

const RANK: Readonly<Record<BlogReader['audience'], number>> = { public: 0, free: 1, premium: 2 };

function higher(a: BlogReader['audience'], b: BlogReader['audience']): BlogReader['audience'] {
  return RANK[a] >= RANK[b] ? a : b;
}

/** A page that depends on who asks: no shared cache may keep it, nor hand it to anyone else. */
function isPersonal(reader: BlogReader): boolean {
  return reader.member || reader.viaEmailLink;
}

/**
 * Tells who reads a blog page: a signed-in member (their session cookie), a subscriber arriving by
 * an article link of their email (that edition's reader token, for that edition's articles only),
 * or anyone. The one place that decides it, and the caching that follows from it.
 */
@Injectable()
export class BlogReaders {
  constructor(
    @Inject(ArticlesRepository) private readonly articles: ArticlesRepository,
    @Inject(MembersService) private readonly members: MembersService,
    @Inject(MemberCookies) private readonly cookies: MemberCookies,
    @Inject(ReaderLinks) private readonly readerLinks: ReaderLinks,
    @Inject(PaymentsService) private readonly payments: PaymentsService,
  ) {}

  /** The reader of a page that is not an article's. */
  async identify(request: FastifyRequest, reply: FastifyReply): Promise<BlogReader> {
    const sessionId = this.cookies.sessionId(request);
    return this.readerFor(request, reply, sessionId, await this.members.member(sessionId));
  }

  /**
   * A published article and its reader, with one query to the database: the member's session comes
   * from Redis first, then the article and the member's row are read together. Undefined when no
   * published article has the slug.
   */
  async readArticle(
    request: FastifyRequest,
    reply: FastifyReply,
    slug: string,
  ): Promise<ArticleRead | undefined> {
    const sessionId = this.cookies.sessionId(request);
    const session = await this.members.session(sessionId);
    const found = await this.articles.findPublishedForReader(slug, session?.subscriberId);
    if (!found) return undefined;
    const member = session && (await this.members.memberOf(session, found.subscriber));
    const reader = await this.readerFor(request, reply, sessionId, member, found.article);
    return { article: found.article, reader, member: member?.subscriber };
  }

  /**
   * The reader of this request, once their member (if any) is known. A cookie whose session is gone
   * is cleared, so that the browser's next pages come from the shared cache again. `article`: the
   * article page being read, which a reader link may open in full.
   */
  private async readerFor(
    request: FastifyRequest,
    reply: FastifyReply,
    sessionId: string | undefined,
    member: Member<MemberRow> | undefined,
    article?: Pick<ArticleRow, 'id' | 'access'>,
  ): Promise<BlogReader> {
    let reader = ANONYMOUS_READER;
    if (member) reader = readerOf(member.subscriber, await this.lapsed(member.subscriber));
    else if (sessionId !== undefined) this.cookies.clear(reply);
    const link = readerLinkIn(request.query as Record<string, unknown>);
    if (article?.access === 'premium' && reader.audience !== 'premium' && link !== undefined) {
      const tier = await this.readerLinks.tierForArticle(link, article.id);
      if (tier !== undefined)
        reader = { ...reader, audience: higher(reader.audience, tier), viaEmailLink: true };
    }
    this.setCaching(reply, reader);
    return reader;
  }

  /** A free member who paid before: only they have a Stripe customer. */
  private async lapsed(subscriber: MemberRow): Promise<boolean> {
    if (subscriber.tier !== 'free' || subscriber.externalRef === null) return false;
    return (await this.payments.latestSubscription(subscriber.id)) !== undefined;
  }

  /**
   * A page for anyone may be kept a few seconds by shared caches (and by our page cache, which
   * reads the same header); a personal one by none. Either way it varies with the cookie, so a
   * browser or proxy never answers a member with the copy it kept for a stranger, or the reverse.
   */
  private setCaching(reply: FastifyReply, reader: BlogReader): void {
    void reply.header('Vary', 'Cookie');
    if (!isPersonal(reader)) {
      void reply.header('Cache-Control', PUBLIC_CACHE_CONTROL);
      return;
    }
    void reply.header('Cache-Control', 'private, no-store');
    if (reader.viaEmailLink) {
      // The link's token stays out of other sites' logs, and the page out of search engines.
      void reply.header('Referrer-Policy', 'no-referrer').header('X-Robots-Tag', 'noindex');
    }
  }
}
