import type { AppConfig } from '../config/app-config.js';
import type { Publication } from '../settings/publication.js';
import type { PremiumOffer } from '../settings/settings.repository.js';
import { type Audience, gatedContent } from '../content/access-gate.js';
import { plainText, truncateText } from '../content/markdown.js';
import type { ArticleRow } from '../database/schema.js';
import { NotFoundException } from '@nestjs/common';
import { SLUG_MAX_LENGTH, SLUG_PATTERN, slugify } from '../lib/slug.js';
import type { BlogReader } from './blog-readers.js';

export interface TagLink {
  readonly name: string;
  readonly url: string;
}

/** An article as a blog page shows it to one audience: everything here has passed the access gate. */
export interface ArticleView {
  readonly title: string;
  readonly slug: string;
  readonly url: string;
  readonly lede: string;
  readonly author: string;
  readonly premium: boolean;
  /** The part before the cut: public for every article. */
  readonly teaserHtml: string;
  /** What this audience may read on the article page: the whole, or the teaser. */
  readonly html: string;
  /** Whether `html` stops at the cut. */
  readonly gated: boolean;
  /** For meta tags and summaries: the lede, or the start of the teaser. Never past the cut. */
  readonly description: string;
  readonly publishedAt: Date;
  readonly updatedAt: Date;
  readonly tags: readonly TagLink[];
  /** On list cards, while the publication takes comments: how many this article shows. */
  readonly commentCount?: number;
}

/** A slug from an address: anything that could not be one is a page that does not exist. */
export function parseSlug(raw: string, what: string): string {
  if (raw.length > SLUG_MAX_LENGTH || !SLUG_PATTERN.test(raw)) throw new NotFoundException(`No such ${what}`);
  return raw;
}

export function articleUrl(config: AppConfig, slug: string): string {
  return `${config.publicUrl}/articles/${slug}`;
}

export function tagUrl(config: AppConfig, tag: string): string {
  return `${config.publicUrl}/tags/${slugify(tag)}`;
}

/** What an article's view is made of: what its page reads (PageArticle), or a whole row. */
type ViewedArticle = Pick<
  ArticleRow,
  | 'title'
  | 'slug'
  | 'lede'
  | 'author'
  | 'access'
  | 'bodyHtml'
  | 'teaserHtml'
  | 'publishedAt'
  | 'updatedAt'
  | 'tags'
>;

export function toArticleView(config: AppConfig, row: ViewedArticle, audience: Audience): ArticleView {
  const visible = gatedContent(row, audience);
  return {
    title: row.title,
    slug: row.slug,
    url: articleUrl(config, row.slug),
    lede: row.lede,
    author: row.author,
    premium: row.access === 'premium',
    teaserHtml: row.teaserHtml,
    html: visible.html,
    gated: visible.access === 'teaser',
    description: truncateText(row.lede || plainText(row.teaserHtml), 200),
    publishedAt: row.publishedAt ?? row.updatedAt,
    updatedAt: row.updatedAt,
    tags: row.tags.map((name) => ({ name, url: tagUrl(config, name) })),
  };
}

/** Words a minute an adult reads on a screen, the usual figure behind "x min read". */
const WORDS_PER_MINUTE = 230;

/** Minutes the whole article takes to read (its length, never its words: no text leaves the gate). */
export function readingMinutes(row: Pick<ArticleRow, 'bodyHtml'>): number {
  const words = plainText(row.bodyHtml)
    .split(' ')
    .filter((word) => /\p{L}|\p{N}/u.test(word)).length;
  return Math.max(1, Math.round(words / WORDS_PER_MINUTE));
}

export interface ShareLink {
  readonly name: string;
  readonly url: string;
}

/** Where a reader may share an article: plain links to each service's own share page, no script. */
export function shareLinks(article: Pick<ArticleView, 'title' | 'url'>, emailLabel: string): ShareLink[] {
  const url = encodeURIComponent(article.url);
  const text = encodeURIComponent(article.title);
  return [
    { name: emailLabel, url: `mailto:?subject=${text}&body=${url}` },
    { name: 'Bluesky', url: `https://bsky.app/intent/compose?text=${text}%20${url}` },
    { name: 'Mastodon', url: `https://mastodonshare.com/?text=${text}&url=${url}` },
    { name: 'LinkedIn', url: `https://www.linkedin.com/sharing/share-offsite/?url=${url}` },
    { name: 'Facebook', url: `https://www.facebook.com/sharer/sharer.php?u=${url}` },
    { name: 'X', url: `https://x.com/intent/post?text=${text}&url=${url}` },
  ];
}

/**
 * schema.org metadata for search engines; paywalled articles say so, as Google asks, whoever reads
 * the page: it describes the article, not the reader's access to it.
 */
export function articleJsonLd(config: AppConfig, publication: Publication, article: ArticleView): object {
  return {
    '@context': 'https://schema.org',
    '@type': 'BlogPosting',
    headline: article.title,
    description: article.description,
    url: article.url,
    mainEntityOfPage: article.url,
    datePublished: article.publishedAt.toISOString(),
    dateModified: article.updatedAt.toISOString(),
    inLanguage: publication.locale,
    keywords: article.tags.map((tag) => tag.name).join(', '),
    ...(article.author ? { author: { '@type': 'Person', name: article.author } } : {}),
    publisher: { '@type': 'Organization', name: publication.name, url: config.publicUrl },
    isAccessibleForFree: !article.premium,
    ...(article.premium
      ? { hasPart: { '@type': 'WebPageElement', isAccessibleForFree: false, cssSelector: '.paywall' } }
      : {}),
  };
}

/**
 * What the paywall under a teaser offers its reader. A subscriber reading at the free tier (signed
 * in, or by their email's link) is offered premium. A stranger is offered premium too when it is on
 * sale here (payments on), with the free newsletter beside it; else the free newsletter.
 */
export interface Paywall {
  /** The reader is a subscriber already: the upgrade wording. */
  readonly subscriber: boolean;
  /** A member whose paid subscription ended: the renewal wording. */
  readonly renew: boolean;
  /** The main button leads to premium (else to the free subscription form). */
  readonly premiumButton: boolean;
  readonly upgradeUrl: string;
  /** A stranger offered premium is offered the free newsletter as well. */
  readonly freeOffer: boolean;
  /** Offers to sign in, to anyone not signed in. */
  readonly signIn: boolean;
  /** The lowest price a month, as the locale writes it, when payments are on. */
  readonly fromPrice?: string;
  /** What premium gives, line by line (see premiumOffer). */
  readonly benefits: readonly string[];
}

export function paywallFor(
  config: AppConfig,
  reader: BlogReader,
  article: ArticleView,
  offer: PremiumOffer,
): Paywall {
  const subscriber = reader.audience !== 'public';
  const onSale = config.stripe !== undefined;
  return {
    subscriber,
    renew: subscriber && reader.lapsed === true,
    premiumButton: subscriber || onSale,
    upgradeUrl: upgradeUrl(config, `/articles/${article.slug}`),
    freeOffer: !subscriber && onSale,
    signIn: !reader.member,
    ...(offer.fromPrice ? { fromPrice: offer.fromPrice } : {}),
    benefits: offer.benefits,
  };
}

/** Where going premium starts: the upgrade page, coming back to `path` after paying, or PREMIUM_URL. */
export function upgradeUrl(config: AppConfig, path: string): string {
  const page = `${config.publicUrl}/upgrade`;
  return config.premiumUrl === page ? `${page}?next=${encodeURIComponent(path)}` : config.premiumUrl;
}
