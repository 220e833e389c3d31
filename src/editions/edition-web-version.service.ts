import { Inject, Injectable, NotFoundException } from '@nestjs/common';
import type { SubscriberTier } from '../database/schema.js';
import { EditionDeliveryService } from '../delivery/edition-delivery.service.js';
import { SubscriberTokens } from '../mail/subscriber-tokens.js';
import { ExpiringCache } from '../lib/expiring-cache.js';
import { EditionsRepository } from './editions.repository.js';

/** How long a rendered web version is served before the edition is rendered again. */
const CACHE_MS = 60_000;
const CACHE_ENTRIES = 64;

export interface WebVersion {
  readonly html: string;
  readonly tier: SubscriberTier;
}

/**
 * An edition as a web page, the "read on the web" link of every email. Without a reader token it
 * is the teaser edition, for anyone; with one, the tier its subscriber holds now, so a link shared
 * by a premium reader stops showing the full text when that reader leaves premium. Only editions
 * that started sending have a web version: drafts are for editors' previews.
 */
@Injectable()
export class EditionWebVersionService {
  /** Rendering is an MJML compile: a public page must not do one per request. */
  private readonly cache = new ExpiringCache<string>(CACHE_MS, CACHE_ENTRIES);

  constructor(
    @Inject(EditionsRepository) private readonly repository: EditionsRepository,
    @Inject(EditionDeliveryService) private readonly delivery: EditionDeliveryService,
    @Inject(SubscriberTokens) private readonly tokens: SubscriberTokens,
  ) {}

  async render(editionId: string, readerToken?: string): Promise<WebVersion> {
    const edition = await this.repository.findById(editionId);
    if (!edition?.startedAt) throw new NotFoundException('No such edition');
    let tier: SubscriberTier = 'free';
    if (readerToken !== undefined) {
      const subscriberId = this.tokens.verifyReaderToken(editionId, readerToken);
      if (!subscriberId) throw new NotFoundException('This link is not valid');
      tier = await this.repository.readerTier(subscriberId);
    }
    // Keyed by the edition's content version: an article turned premium or edited is rendered
    // afresh at once, in every process, whatever the entry's age.
    const key = `${await this.repository.contentVersion(edition)}:${tier}`;
    const cached = this.cache.get(key);
    if (cached !== undefined) return { html: cached, tier };
    const { html } = await this.delivery.compose(edition, tier, 'none');
    this.cache.set(key, html);
    return { html, tier };
  }
}
