import { Inject, Injectable, NotFoundException } from '@nestjs/common';
import type { SubscriberTier } from '../database/schema.js';
import { EditionDeliveryService } from '../delivery/edition-delivery.service.js';
import { fillHtmlMarkers } from '../mail/prepared-message.js';
import { readerQueryOf } from '../mail/subscriber-tokens.js';
import { ExpiringCache } from '../lib/expiring-cache.js';
import { EditionsRepository } from './editions.repository.js';
import { type OpenedReaderLink, ReaderLinks } from './reader-links.js';

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
 * by a premium reader stops showing the full text when that reader leaves premium, and its article
 * links carry the same token on to the blog. Only editions that started sending have a web
 * version: drafts are for editors' previews.
 */
@Injectable()
export class EditionWebVersionService {
  /** Rendering is an MJML compile: a public page must not do one per request. */
  private readonly cache = new ExpiringCache<string>(CACHE_MS, CACHE_ENTRIES);

  constructor(
    @Inject(EditionsRepository) private readonly repository: EditionsRepository,
    @Inject(EditionDeliveryService) private readonly delivery: EditionDeliveryService,
    @Inject(ReaderLinks) private readonly readerLinks: ReaderLinks,
  ) {}

  async render(editionId: string, readerToken?: string): Promise<WebVersion> {
    const link = readerToken === undefined ? undefined : { editionId, token: readerToken };
    const opened = link === undefined ? await this.forAnyone(editionId) : await this.readerLinks.open(link);
    if (!opened) throw new NotFoundException(link ? 'This link is not valid' : 'No such edition');
    const { edition, tier } = opened;
    // Keyed by the edition's content version: an article turned premium or edited is rendered
    // afresh at once, in every process, whatever the entry's age.
    const key = `${await this.repository.contentVersion(edition)}:${tier}`;
    let html = this.cache.get(key);
    if (html === undefined) {
      ({ html } = await this.delivery.compose(edition, tier, 'web'));
      this.cache.set(key, html);
    }
    return {
      html: fillHtmlMarkers(html, {
        name: '',
        unsubscribeUrl: '',
        preferencesUrl: '',
        webVersionUrl: '',
        readerQuery: link === undefined ? '' : readerQueryOf(link),
      }),
      tier,
    };
  }

  private async forAnyone(editionId: string): Promise<OpenedReaderLink | undefined> {
    const edition = await this.repository.findById(editionId);
    return edition?.startedAt ? { edition, tier: 'free' } : undefined;
  }
}
