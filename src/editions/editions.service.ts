import { ConflictException, Inject, Injectable, NotFoundException } from '@nestjs/common';
import type { AppConfig } from '../config/app-config.js';
import { APP_CONFIG } from '../config/config.module.js';
import { PublicationSettings } from '../settings/publication-settings.js';
import type { EditionRow, EditionStatus, SubscriberTier } from '../database/schema.js';
import {
  type EditionContent,
  EditionLifecycleRepository,
} from '../edition-lifecycle/edition-lifecycle.repository.js';
import { DeliveriesRepository, type DeliveryCounts } from '../delivery/deliveries.repository.js';
import { DeliveryQueue } from '../queue/delivery.queue.js';
import { EditionDeliveryService } from '../delivery/edition-delivery.service.js';
import { truncateText } from '../content/markdown.js';
import { InvalidInputException } from '../http/api-error.js';
import { normaliseEmail } from '../lib/email-address.js';
import { type ComposedEdition, GMAIL_CLIP_BYTES } from '../mail/edition-composer.js';
import { ExpiringCache } from '../lib/expiring-cache.js';
import { fillHtmlMarkers } from '../mail/prepared-message.js';
import { parsePublicationTime } from '../lib/publication-time.js';
import type { CreateEditionDto, UpdateEditionDto } from './dto/edition-input.dto.js';
import { EditionsRepository } from './editions.repository.js';

const PREVIEW_KEPT_MS = 10 * 60_000;
const PREVIEW_ENTRIES = 32;

export interface EditionPreview {
  readonly html: string;
  readonly htmlBytes: number;
  /** Set when Gmail would clip the message. */
  readonly warning: string | null;
}

/** Editors' side of editions: write, schedule, cancel, preview, test, watch. */
@Injectable()
export class EditionsService {
  private readonly previews = new ExpiringCache<EditionPreview>(PREVIEW_KEPT_MS, PREVIEW_ENTRIES);
  constructor(
    @Inject(EditionsRepository) private readonly repository: EditionsRepository,
    @Inject(EditionLifecycleRepository) private readonly lifecycle: EditionLifecycleRepository,
    @Inject(DeliveriesRepository) private readonly ledger: DeliveriesRepository,
    @Inject(EditionDeliveryService) private readonly delivery: EditionDeliveryService,
    @Inject(DeliveryQueue) private readonly queue: DeliveryQueue,
    @Inject(PublicationSettings) private readonly publication: PublicationSettings,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  private async checkArticles(ids: readonly string[]): Promise<void> {
    const published = await this.repository.publishedArticleIds(ids);
    const missing = ids.filter((id) => !published.has(id));
    if (missing.length > 0) {
      throw InvalidInputException.field(
        'article_ids',
        `not published articles: ${missing.join(', ')}`,
        'unpublished',
      );
    }
  }

  async create(input: CreateEditionDto): Promise<EditionRow> {
    await this.checkArticles(input.article_ids);
    return this.lifecycle.create({
      subject: input.subject.trim(),
      preheader: input.preheader?.trim() ?? '',
      audience: input.audience ?? 'all',
      articleIds: input.article_ids,
    });
  }

  async get(id: string): Promise<EditionRow> {
    const row = await this.repository.findById(id);
    if (!row) throw new NotFoundException(`No edition with id ${id}`);
    return row;
  }

  list(page: number, limit: number, status?: EditionStatus): Promise<EditionRow[]> {
    return this.repository.list(limit, (page - 1) * limit, status);
  }

  upcoming(limit: number): Promise<EditionRow[]> {
    return this.repository.upcoming(limit);
  }

  /** The public archive: editions that went out, newest first. */
  sentPage(limit: number, offset: number): Promise<{ items: EditionRow[]; total: number }> {
    return this.repository.sentPage(limit, offset);
  }

  recentSends(limit: number): Promise<EditionRow[]> {
    return this.repository.recentSends(limit);
  }

  counts(id: string): Promise<DeliveryCounts> {
    return this.ledger.counts(id);
  }

  private notEditable(edition: EditionRow, action: string): ConflictException {
    return new ConflictException(`The edition is ${edition.status}: it can no longer be ${action}`);
  }

  async update(id: string, input: UpdateEditionDto): Promise<EditionRow> {
    const current = await this.get(id);
    if (input.article_ids) await this.checkArticles(input.article_ids);
    const patch: EditionContent = {};
    if (input.subject !== undefined) patch.subject = input.subject.trim();
    if (input.preheader !== undefined) patch.preheader = input.preheader.trim();
    if (input.audience !== undefined) patch.audience = input.audience;
    if (input.article_ids !== undefined) patch.articleIds = input.article_ids;
    const row = await this.lifecycle.edit(id, patch);
    if (!row) throw this.notEditable(current, 'changed');
    return row;
  }

  /** Schedules (or reschedules) the send; without a time, it goes at the next tick. */
  async schedule(id: string, sendAtInput: string | undefined): Promise<EditionRow> {
    let sendAt = new Date();
    if (sendAtInput !== undefined) {
      const parsed = parsePublicationTime(sendAtInput, this.publication.current().timeZone);
      if (!parsed) {
        throw InvalidInputException.field(
          'send_at',
          `"${sendAtInput}" is not an ISO 8601 date-time such as 2026-12-06T18:00`,
          'date-time',
        );
      }
      if (parsed.getTime() < Date.now() - 60_000)
        throw InvalidInputException.field('send_at', 'must not be in the past', 'past');
      sendAt = parsed;
    }
    const current = await this.get(id);
    const row = await this.lifecycle.schedule(id, sendAt);
    if (!row) throw this.notEditable(current, 'scheduled');
    return row;
  }

  /** Stops the edition; in the middle of a send, whoever was not mailed yet is not mailed. */
  async cancel(id: string): Promise<EditionRow> {
    const current = await this.get(id);
    const row = await this.lifecycle.cancel(id);
    if (!row) throw this.notEditable(current, 'cancelled');
    await this.ledger.skipPending(id);
    return row;
  }

  /**
   * The edition as a tier will get it, for editors. Kept per content version: the desk's edition
   * page shows both tiers' sizes and previews on every view, and composes them once per change.
   */
  async preview(id: string, tier: SubscriberTier): Promise<EditionPreview> {
    const edition = await this.get(id);
    const key = `${await this.repository.contentVersion(edition)}:${tier}`;
    const kept = this.previews.get(key);
    if (kept) return kept;
    const preview = this.composePreview(await this.delivery.compose(edition, tier));
    this.previews.set(key, preview);
    return preview;
  }

  private composePreview(composed: ComposedEdition): EditionPreview {
    const html = fillHtmlMarkers(composed.html, {
      name: '',
      unsubscribeUrl: '#',
      preferencesUrl: '#',
      webVersionUrl: '#',
      readerQuery: '',
    });
    const htmlBytes = composed.message.htmlBytes;
    return {
      html,
      htmlBytes,
      warning:
        htmlBytes > GMAIL_CLIP_BYTES
          ? `The HTML is ${Math.round(htmlBytes / 1024)} KB: Gmail clips messages past 102 KB and hides the rest behind a link`
          : null,
    };
  }

  async sendTest(id: string, email: string, tier: SubscriberTier): Promise<void> {
    await this.get(id);
    const address = normaliseEmail(email);
    if (!address.ok) throw InvalidInputException.field('email', address.reason, address.code);
    await this.queue.add('send-test', { editionId: id, email: address.email, tier });
  }

  /**
   * For the scheduler tick: with EDITION_ON_PUBLISH, each newly published article becomes an
   * edition to all, scheduled at once. Either way an article is only ever news once.
   */
  async announceNewlyPublished(): Promise<EditionRow[]> {
    const published = await this.repository.claimNewlyPublished();
    if (!this.config.editionOnPublish) return [];
    const created: EditionRow[] = [];
    for (const article of published) {
      created.push(
        await this.lifecycle.create(
          {
            subject: article.title,
            preheader: truncateText(article.lede, 200),
            audience: 'all',
            articleIds: [article.id],
          },
          new Date(),
        ),
      );
    }
    return created;
  }

  /** For the scheduler tick: the next scheduled edition and when it is due. */
  nextDue(): Promise<{ id: string; at: Date } | undefined> {
    return this.repository.nextDue();
  }

  /** For the scheduler tick: starts every due edition once, however many workers tick. */
  async startDue(now: Date = new Date()): Promise<string[]> {
    const ids = await this.lifecycle.startDue(now);
    for (const id of ids) await this.queue.add('prepare-edition', { editionId: id }, `prepare-${id}`);
    return ids;
  }
}
