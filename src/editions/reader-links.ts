import { Inject, Injectable } from '@nestjs/common';
import type { EditionRow, SubscriberTier } from '../database/schema.js';
import { type ReaderLink, SubscriberTokens } from '../mail/subscriber-tokens.js';
import { EditionsRepository } from './editions.repository.js';

export interface OpenedReaderLink {
  readonly edition: EditionRow;
  /** The tier its subscriber reads at now, not the one they had when the edition went out. */
  readonly tier: SubscriberTier;
}

/**
 * The links of one subscriber's copy of an edition: its web version and its articles on the blog.
 * Each opens what that email already holds, at the tier its subscriber holds now, and nothing else:
 * no session, no other edition, no other article, no account.
 */
@Injectable()
export class ReaderLinks {
  constructor(
    @Inject(EditionsRepository) private readonly repository: EditionsRepository,
    @Inject(SubscriberTokens) private readonly tokens: SubscriberTokens,
  ) {}

  /** Undefined for a forged or mangled link, or an edition that never went out. */
  async open(link: ReaderLink): Promise<OpenedReaderLink | undefined> {
    const subscriberId = this.tokens.verifyReaderToken(link.editionId, link.token);
    if (!subscriberId) return undefined;
    const edition = await this.repository.findById(link.editionId);
    if (!edition?.startedAt) return undefined;
    return { edition, tier: await this.repository.readerTier(subscriberId) };
  }

  /** The tier a link lets its reader read this article at: only an article of the link's edition. */
  async tierForArticle(link: ReaderLink, articleId: string): Promise<SubscriberTier | undefined> {
    const opened = await this.open(link);
    return opened?.edition.articleIds.includes(articleId) ? opened.tier : undefined;
  }
}
