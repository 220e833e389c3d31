import { Marked, type Token, type Tokens } from 'marked';
import sanitizeHtml from 'sanitize-html';
import type { Locale } from '../config/app-config.js';
import { mediaImage, mediaImageHtml } from './media-images.js';
import { frenchTypography } from './typography.js';

/** Text a link shows that is its own address (an autolink): left as typed, like any URL. */
const VERBATIM = new WeakSet<Token>();

/**
 * Markdown as French prose is set: typography applies to text alone, never to code (spans and
 * blocks are tokens of their own), HTML, link addresses, or a link that shows its own address.
 */
const FRENCH_TYPOGRAPHY = {
  walkTokens(token: Token) {
    if (token.type === 'link') {
      const link = token as Tokens.Link;
      if (link.text === link.href || /^(?:https?:|mailto:|www\.)/i.test(link.text))
        for (const child of link.tokens) VERBATIM.add(child);
      return;
    }
    if (token.type !== 'text' || VERBATIM.has(token)) return;
    const text = token as Tokens.Text;
    if (text.tokens === undefined || text.tokens.length === 0) text.text = frenchTypography(text.text);
  },
};

/** An uploaded image at the widths stored for it; any other image as Markdown writes it. */
const MEDIA_IMAGES = {
  renderer: {
    image({ href, text, title }: Tokens.Image): string | false {
      const image = mediaImage(href);
      return image ? mediaImageHtml(image, text, title ?? undefined) : false;
    },
  },
};

/** A Markdown reader for each locale; `breaks` keeps the line breaks people type in a comment. */
function markedFor(breaks: boolean): Readonly<Record<Locale, Marked>> {
  const options = { gfm: true, breaks, async: false } as const;
  return {
    fr: new Marked(options, FRENCH_TYPOGRAPHY, MEDIA_IMAGES),
    en: new Marked(options, MEDIA_IMAGES),
  };
}

const MARKED_FOR = markedFor(false);
const COMMENT_MARKED_FOR = markedFor(true);
const marked = MARKED_FOR.en;

/** No javascript:, data: or vbscript: anywhere, including relative-looking tricks; unknown tags go. */
const SAFE_ADDRESSES = {
  allowedSchemes: ['http', 'https', 'mailto'],
  allowedSchemesByTag: {},
  allowProtocolRelative: false,
  disallowedTagsMode: 'discard',
} as const satisfies sanitizeHtml.IOptions;

const SANITIZE_OPTIONS: sanitizeHtml.IOptions = {
  allowedTags: [
    ...sanitizeHtml.defaults.allowedTags,
    'img',
    'figure',
    'figcaption',
    'picture',
    'source',
    'del',
    'ins',
    'sup',
    'sub',
  ],
  allowedAttributes: {
    a: ['href', 'title', 'name', 'rel'],
    img: ['src', 'srcset', 'sizes', 'alt', 'title', 'width', 'height', 'loading', 'decoding'],
    source: ['srcset', 'sizes', 'type', 'media'],
    th: ['align', 'colspan', 'rowspan'],
    td: ['align', 'colspan', 'rowspan'],
    ol: ['start'],
    code: ['class'],
  },
  allowedClasses: { code: [/^language-[\w-]+$/] },
  ...SAFE_ADDRESSES,
  allowedSchemes: [...SAFE_ADDRESSES.allowedSchemes],
  transformTags: {
    a: (tagName, attribs) => ({
      tagName,
      attribs: /^https?:/i.test(attribs.href ?? '') ? { ...attribs, rel: 'noopener' } : attribs,
    }),
  },
};

/**
 * Markdown (GitHub flavour) to HTML that is safe to show anywhere: pages, feeds, emails, set as the
 * locale sets text (French typography for `fr`).
 */
export function renderMarkdown(markdown: string, locale: Locale): string {
  return sanitizeHtml(MARKED_FOR[locale].parse(markdown) as string, SANITIZE_OPTIONS).trim();
}

/**
 * What a reader may write in a comment: paragraphs, emphasis, links, quotes, lists and code.
 * Headings, images, tables and raw HTML lose their markup and keep their text; every link is
 * marked as the reader's own (`ugc nofollow`), so that comments are worth nothing to spammers.
 */
const COMMENT_SANITIZE_OPTIONS: sanitizeHtml.IOptions = {
  allowedTags: ['p', 'br', 'em', 'strong', 'del', 'a', 'code', 'pre', 'blockquote', 'ul', 'ol', 'li'],
  allowedAttributes: { a: ['href', 'rel'] },
  ...SAFE_ADDRESSES,
  allowedSchemes: [...SAFE_ADDRESSES.allowedSchemes],
  transformTags: {
    a: (tagName, attribs) => ({
      tagName,
      attribs: { ...(attribs.href ? { href: attribs.href } : {}), rel: 'ugc nofollow noopener' },
    }),
  },
};

/** A reader's comment, in the comments' Markdown subset, as safe HTML set as the locale sets text. */
export function renderCommentMarkdown(markdown: string, locale: Locale): string {
  return sanitizeHtml(COMMENT_MARKED_FOR[locale].parse(markdown) as string, COMMENT_SANITIZE_OPTIONS).trim();
}

/** How many images a Markdown document shows without a description (alt text). */
export function imagesWithoutAlt(markdown: string): number {
  let missing = 0;
  // Synchronous: this reader has no async extension, so walkTokens gives back nothing to wait for.
  void marked.walkTokens(marked.lexer(markdown), (token) => {
    if (token.type === 'image' && (token as Tokens.Image).text.trim() === '') missing += 1;
  });
  return missing;
}

/** The top-level blocks of a Markdown document, each with its exact source text. */
export function markdownBlocks(markdown: string): Token[] {
  return marked.lexer(markdown);
}

/** Text of an HTML fragment on one line, for meta descriptions and summaries. */
export function plainText(html: string): string {
  return sanitizeHtml(html, { allowedTags: [], allowedAttributes: {} })
    .replace(/&nbsp;/g, '\u00a0')
    .replace(/&amp;/g, '&')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/[ \t\r\n]+/g, ' ')
    .trim();
}

/** Cuts text at a word boundary and adds an ellipsis when it was longer than `max` characters. */
export function truncateText(text: string, max: number): string {
  if (text.length <= max) return text;
  const cut = text.slice(0, max - 1);
  const boundary = cut.lastIndexOf(' ');
  return `${(boundary > max / 2 ? cut.slice(0, boundary) : cut).trimEnd()}…`;
}
