import type { AppConfig } from '../config/app-config.js';
import { gatedContent } from '../content/access-gate.js';
import { plainText, truncateText } from '../content/markdown.js';
import type { ArticleRow } from '../database/schema.js';
import { slugify } from '../lib/slug.js';

export interface TagLink {
  readonly name: string;
  readonly url: string;
}

/** An article as a public page may show it: everything here has passed the access gate. */
export interface PublicArticle {
  readonly title: string;
  readonly slug: string;
  readonly url: string;
  readonly lede: string;
  readonly author: string;
  readonly premium: boolean;
  /** The part before the cut: public for every article. */
  readonly teaserHtml: string;
  /** What the public may read on the article page: the whole for public articles, else the teaser. */
  readonly html: string;
  /** Whether `html` stops at the cut. */
  readonly gated: boolean;
  /** For meta tags and summaries: the lede, or the start of the teaser. Never past the cut. */
  readonly description: string;
  readonly publishedAt: Date;
  readonly updatedAt: Date;
  readonly tags: readonly TagLink[];
}

export function articleUrl(config: AppConfig, slug: string): string {
  return `${config.publicUrl}/articles/${slug}`;
}

export function tagUrl(config: AppConfig, tag: string): string {
  return `${config.publicUrl}/tags/${slugify(tag)}`;
}

export function toPublicArticle(config: AppConfig, row: ArticleRow): PublicArticle {
  const visible = gatedContent(row, 'public');
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

/** schema.org metadata for search engines; paywalled articles say so, as Google asks. */
export function articleJsonLd(config: AppConfig, article: PublicArticle): object {
  return {
    '@context': 'https://schema.org',
    '@type': 'BlogPosting',
    headline: article.title,
    description: article.description,
    url: article.url,
    mainEntityOfPage: article.url,
    datePublished: article.publishedAt.toISOString(),
    dateModified: article.updatedAt.toISOString(),
    inLanguage: config.locale,
    keywords: article.tags.map((tag) => tag.name).join(', '),
    ...(article.author ? { author: { '@type': 'Person', name: article.author } } : {}),
    publisher: { '@type': 'Organization', name: config.publicationName, url: config.publicUrl },
    isAccessibleForFree: !article.gated,
    ...(article.gated
      ? { hasPart: { '@type': 'WebPageElement', isAccessibleForFree: false, cssSelector: '.paywall' } }
      : {}),
  };
}
