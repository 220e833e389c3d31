import { emailImages } from '../content/media-images.js';
import { Inject, Injectable } from '@nestjs/common';
import { defaultOfferBenefits, messagesFor } from '../i18n/messages.js';
import {
  NO_TRACKING,
  premiumOffer,
  SettingsRepository,
  type Tracking,
} from '../settings/settings.repository.js';
import type { AppConfig } from '../config/app-config.js';
import { APP_CONFIG } from '../config/config.module.js';
import { PublicationSettings } from '../settings/publication-settings.js';
import { gatedContent } from '../content/access-gate.js';
import type { ArticleRow, EditionRow, SubscriberTier } from '../database/schema.js';
import { longDateFormat } from '../i18n/dates.js';
import { EmailRenderer } from './email-renderer.js';
import { formatAddress, PreparedMessage, RECIPIENT_MARKERS } from './prepared-message.js';
import { trackLinks, withOpenPixel } from './tracked-links.js';

/** Gmail clips messages whose HTML passes 102 KB and hides the rest behind a link. */
export const GMAIL_CLIP_BYTES = 102 * 1024;

/**
 * `recipient`: the links are markers that each recipient's own URLs replace. `web`: the web
 * version, without unsubscribe, preferences or web-version links; its article links keep the
 * reader marker, which the page fills for the reader who opened it (or empties for anyone else).
 */
export type EditionLinks = 'recipient' | 'web';

export interface ComposedEdition {
  readonly message: PreparedMessage;
  /** The HTML with the recipient markers still in it. */
  readonly html: string;
  readonly text: string;
  /** The links that go through the click redirect, by id; empty when clicks are not tracked. */
  readonly links: ReadonlyMap<string, string>;
}

/**
 * Renders an edition for one tier, once per send: every article passes through the access gate for
 * that tier, so a free subscriber's email holds the teasers and nothing after the cut.
 */
@Injectable()
export class EditionComposer {
  private readonly dateFormat: () => Intl.DateTimeFormat;
  readonly domain: string;

  constructor(
    @Inject(EmailRenderer) private readonly renderer: EmailRenderer,
    @Inject(SettingsRepository) private readonly settings: SettingsRepository,
    @Inject(PublicationSettings) private readonly publication: PublicationSettings,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {
    this.dateFormat = publication.derive((current) => longDateFormat(current.locale, current.timeZone));
    this.domain = new URL(config.publicUrl).hostname;
  }

  /** Loads what composing needs (MJML) ahead of an edition due soon. */
  preload(): Promise<void> {
    return this.renderer.preload();
  }

  async compose(
    edition: Pick<EditionRow, 'id' | 'subject' | 'preheader'>,
    articles: readonly ArticleRow[],
    tier: SubscriberTier,
    links: EditionLinks = 'recipient',
    counted: Tracking = NO_TRACKING,
  ): Promise<ComposedEdition> {
    const publication = this.publication.current();
    const marker = (value: string): string => (links === 'recipient' ? value : '');
    const readerQuery = RECIPIENT_MARKERS.readerQuery;
    const rendered = await this.renderer.render(tier === 'premium' ? 'edition-full' : 'edition-teaser', {
      subject: edition.subject,
      // The editor's preheader, else the first lede: both come before any cut.
      preheader: edition.preheader || articles[0]?.lede || '',
      unsubscribeUrl: marker(RECIPIENT_MARKERS.unsubscribeUrl),
      preferencesUrl: marker(RECIPIENT_MARKERS.preferencesUrl),
      webVersionUrl: marker(RECIPIENT_MARKERS.webVersionUrl),
      premiumUrl: this.config.premiumUrl,
      // The free edition makes the offer the blog makes: the desk's words, the price from Stripe.
      offer:
        tier === 'free'
          ? await premiumOffer(
              this.settings,
              defaultOfferBenefits(messagesFor(publication.locale)),
              this.config.stripe !== undefined,
            )
          : undefined,
      articles: articles.map((article) => ({
        title: article.title,
        lede: article.lede,
        html: emailImages(gatedContent(article, tier).html),
        url: `${this.config.publicUrl}/articles/${article.slug}${readerQuery}`,
        date: article.publishedAt ? this.dateFormat().format(article.publishedAt) : '',
      })),
    });
    // The web version is read on the blog itself: only a recipient's copy goes through the redirect.
    const recipientCopy = links === 'recipient';
    const {
      html: trackedHtml,
      text,
      links: tracked,
    } = recipientCopy && counted.clicks
      ? trackLinks(rendered.html, rendered.text)
      : { ...rendered, links: new Map<string, string>() };
    const html = recipientCopy && counted.opens ? withOpenPixel(trackedHtml) : trackedHtml;
    const message = new PreparedMessage({
      from: formatAddress(publication.mailFrom.name, publication.mailFrom.address),
      ...(publication.replyTo
        ? { replyTo: formatAddress(publication.replyTo.name, publication.replyTo.address) }
        : {}),
      subject: edition.subject,
      html,
      text,
      listId: `newsletter.${this.domain}`,
      feedbackId: `${edition.id}:${tier}:depeche:${this.domain}`,
    });
    return { message, html, text, links: tracked };
  }
}
