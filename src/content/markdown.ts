import { Marked, type Token, type Tokens } from 'marked';
import sanitizeHtml from 'sanitize-html';
import type { Locale } from '../config/app-config.js';
import { frenchTypography } from './typography.js';

const OPTIONS = { gfm: true, breaks: false, async: false } as const;
const marked = new Marked(OPTIONS);

/** Text a link shows that is its own address (an autolink): left as typed, like any URL. */
const VERBATIM = new WeakSet<Token>();

/**
 * Markdown as French prose is set: typography applies to text alone, never to code (spans and
 * blocks are tokens of their own), HTML, link addresses, or a link that shows its own address.
 */
const frenchMarked = new Marked(OPTIONS, {
  walkTokens(token) {
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
});

const MARKED_FOR: Readonly<Record<Locale, Marked>> = { fr: frenchMarked, en: marked };

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
    img: ['src', 'srcset', 'alt', 'title', 'width', 'height', 'loading'],
    source: ['srcset', 'type', 'media'],
    th: ['align', 'colspan', 'rowspan'],
    td: ['align', 'colspan', 'rowspan'],
    ol: ['start'],
    code: ['class'],
  },
  allowedClasses: { code: [/^language-[\w-]+$/] },
  // No javascript:, data: or vbscript: anywhere, including relative-looking tricks.
  allowedSchemes: ['http', 'https', 'mailto'],
  allowedSchemesByTag: {},
  allowProtocolRelative: false,
  disallowedTagsMode: 'discard',
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
