import type { AppConfig } from '../config/app-config.js';
import type { Publication } from '../settings/publication.js';
import type { ArticleView } from './blog-view.js';
import { messagesFor } from '../i18n/messages.js';

// eslint-disable-next-line no-control-regex
const XML_FORBIDDEN = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]/g;

export function escapeXml(text: string): string {
  return text
    .replace(XML_FORBIDDEN, '')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;');
}

/** RFC 822 dates, as RSS 2.0 requires. */
function rfc822(date: Date): string {
  return date.toUTCString().replace(/GMT$/, '+0000');
}

/** The HTML a feed carries for an article: what the public may read, and a link when it stops at the cut. */
function feedHtml(publication: Publication, article: ArticleView): string {
  const lede = article.lede ? `<p><strong>${escapeXml(article.lede)}</strong></p>` : '';
  const more = article.gated
    ? `<p><a href="${article.url}">${messagesFor(publication.locale).readMore}</a></p>`
    : '';
  return `${lede}${article.html}${more}`;
}

export function buildRss(
  config: AppConfig,
  publication: Publication,
  articles: readonly ArticleView[],
): string {
  const items = articles.map((article) =>
    [
      '<item>',
      `<title>${escapeXml(article.title)}</title>`,
      `<link>${escapeXml(article.url)}</link>`,
      `<guid isPermaLink="true">${escapeXml(article.url)}</guid>`,
      `<pubDate>${rfc822(article.publishedAt)}</pubDate>`,
      article.author ? `<dc:creator>${escapeXml(article.author)}</dc:creator>` : '',
      ...article.tags.map((tag) => `<category>${escapeXml(tag.name)}</category>`),
      `<description>${escapeXml(feedHtml(publication, article))}</description>`,
      '</item>',
    ].join(''),
  );
  // RSS makes lastBuildDate optional: a feed with nothing in it yet has no date, not 1970's.
  const updated = articles[0]?.publishedAt;
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    '<rss version="2.0" xmlns:atom="http://www.w3.org/2005/Atom" xmlns:dc="http://purl.org/dc/elements/1.1/">',
    '<channel>',
    `<title>${escapeXml(publication.name)}</title>`,
    `<link>${escapeXml(config.publicUrl)}/</link>`,
    `<description>${escapeXml(publication.description || publication.name)}</description>`,
    `<language>${publication.locale}</language>`,
    updated ? `<lastBuildDate>${rfc822(updated)}</lastBuildDate>` : '',
    `<atom:link href="${escapeXml(config.publicUrl)}/feed.xml" rel="self" type="application/rss+xml"/>`,
    ...items,
    '</channel>',
    '</rss>',
    '',
  ].join('\n');
}

/** JSON Feed 1.1 (jsonfeed.org): the same items as the RSS feed, for readers that prefer JSON. */
export function buildJsonFeed(
  config: AppConfig,
  publication: Publication,
  articles: readonly ArticleView[],
): object {
  return {
    version: 'https://jsonfeed.org/version/1.1',
    title: publication.name,
    home_page_url: `${config.publicUrl}/`,
    feed_url: `${config.publicUrl}/feed.json`,
    ...(publication.description ? { description: publication.description } : {}),
    language: publication.locale,
    items: articles.map((article) => ({
      id: article.url,
      url: article.url,
      title: article.title,
      summary: article.description,
      content_html: feedHtml(publication, article),
      date_published: article.publishedAt.toISOString(),
      date_modified: article.updatedAt.toISOString(),
      tags: article.tags.map((tag) => tag.name),
      ...(article.author ? { authors: [{ name: article.author }] } : {}),
    })),
  };
}
