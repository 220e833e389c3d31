import { Inject, Injectable, Logger } from '@nestjs/common';
import type { XMLParser } from 'fast-xml-parser';
import type TurndownService from 'turndown';
import { plainText, truncateText } from '../content/markdown.js';
import { SLUG_MAX_LENGTH, SLUG_PATTERN, slugify } from '../lib/slug.js';
import { MediaLibrary } from '../media/media-library.js';
import { FieldConflictException, InvalidInputException } from '../http/api-error.js';
import { createValidationPipe } from '../http/validation.js';
import { CreateArticleDto } from './dto/article-input.dto.js';
import { ArticlesRepository } from './articles.repository.js';
import { ArticlesService } from './articles.service.js';

/** The files an article import reads. */
export type ArticleImportFormat = 'wordpress' | 'rss' | 'atom';

/** What became of one item of the file. */
export interface ArticleImportLine {
  /** Its place in the file, from 1. */
  readonly item: number;
  readonly title: string;
  readonly outcome: 'imported' | 'draft' | 'exists' | 'skipped' | 'refused';
  /** Why it was skipped or refused, or what to look at (an image without a description). */
  readonly code?: 'not-a-post' | 'exists' | 'no-title' | 'invalid' | 'image-alt' | 'image';
  readonly detail?: string;
}

export interface ArticleImportReport {
  format: ArticleImportFormat;
  imported: number;
  drafts: number;
  skipped: number;
  refused: number;
  lines: ArticleImportLine[];
}

/** One item as every format gives it. */
interface ImportedItem {
  readonly title: string;
  readonly slug: string;
  readonly html: string;
  readonly excerpt: string;
  readonly date: Date | undefined;
  readonly tags: string[];
  readonly author: string;
  /** A post to publish, a draft, or something else the file holds (pages, attachments, menus). */
  readonly kind: 'published' | 'draft' | 'other';
}

type Node = Record<string, unknown>;

const TAG_MAX = 30;
const LEDE_MAX = 2000;
const validation = createValidationPipe();

/** The fields an input fails, as the API's own checks find them; undefined when it holds. */
async function failedFields(input: object): Promise<string | undefined> {
  try {
    await validation.transform(input, { type: 'body', metatype: CreateArticleDto });
    return undefined;
  } catch (error) {
    if (!(error instanceof InvalidInputException)) throw error;
    return [...new Set(error.problems.map((problem) => problem.field))].join(', ');
  }
}

/** What the image rule works from while one post is converted. */
interface Conversion {
  /** Embedded images (data: addresses) and the address each was stored at ('' when unreadable). */
  readonly stored: Map<string, string>;
  /** Images that had no description and were given one (their file's name, or the post's title). */
  described: number;
  /** What an embedded image without a description is called: the post's title. */
  readonly title: string;
}

/**
 * WordPress's "read more" marker is ours too; Turndown drops comments, so it crosses the
 * conversion as a paragraph of its own and becomes the marker again.
 */
const MORE = /<!--\s*more\b[^>]*-->/i;
const MORE_PLACEHOLDER = 'DEPECHEMORECUT';

const DATA_IMAGE = /^data:(image\/(?:jpeg|png|gif|webp|avif));base64,([A-Za-z0-9+/=\s]+)$/;

/** Text of an XML node however the parser gave it: a string, a number, or an object with #text. */
function text(value: unknown): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (Array.isArray(value)) return text(value[0]);
  if (value && typeof value === 'object' && '#text' in value) return text((value as Node)['#text']);
  return '';
}

function list(value: unknown): unknown[] {
  if (value === undefined || value === null) return [];
  return Array.isArray(value) ? value : [value];
}

function date(value: string): Date | undefined {
  const trimmed = value.trim();
  if (trimmed === '' || trimmed.startsWith('0000')) return undefined;
  // WordPress's GMT dates have no zone: they are UTC.
  const iso = /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/.test(trimmed)
    ? `${trimmed.replace(' ', 'T')}Z`
    : trimmed;
  const parsed = new Date(iso);
  return Number.isNaN(parsed.getTime()) ? undefined : parsed;
}

/** The last segment of a permalink, as a slug: /2015/08/syrie-qaryatayn/ keeps `syrie-qaryatayn`. */
function slugFromLink(link: string): string {
  try {
    const segments = new URL(link).pathname.split('/').filter(Boolean);
    return slugify(decodeURIComponent(segments.at(-1) ?? '').replace(/\.html?$/, ''));
  } catch {
    return '';
  }
}

/** Each format's items, read the same way. */
function wordpressItems(channel: Node): ImportedItem[] {
  return list(channel.item).map((raw) => {
    const item = raw as Node;
    const type = text(item['wp:post_type']) || 'post';
    const status = text(item['wp:status']);
    const categories = list(item.category).map((category) => text(category).trim());
    return {
      title: text(item.title).trim(),
      slug: slugify(decodeURIComponent(text(item['wp:post_name']))) || slugFromLink(text(item.link)),
      html: text(item['content:encoded']),
      excerpt: text(item['excerpt:encoded']),
      date: date(text(item['wp:post_date_gmt'])) ?? date(text(item.pubDate)),
      tags: categories.filter((name) => name !== '' && name !== 'Uncategorized' && name !== 'Non classé'),
      author: text(item['dc:creator']).trim(),
      kind:
        type !== 'post'
          ? 'other'
          : status === 'publish'
            ? 'published'
            : status === 'draft'
              ? 'draft'
              : 'other',
    };
  });
}

function rssItems(channel: Node): ImportedItem[] {
  return list(channel.item).map((raw) => {
    const item = raw as Node;
    const content = text(item['content:encoded']);
    return {
      title: text(item.title).trim(),
      slug: slugFromLink(text(item.link)) || slugFromLink(text(item.guid)),
      html: content || text(item.description),
      excerpt: content ? text(item.description) : '',
      date: date(text(item.pubDate)) ?? date(text(item['dc:date'])),
      tags: list(item.category)
        .map((category) => text(category).trim())
        .filter(Boolean),
      // RSS's <author> is an address, the name in brackets: "redaction@… (Karim Nassar)".
      author: (text(item['dc:creator']) || (/\(([^)]+)\)\s*$/.exec(text(item.author))?.[1] ?? '')).trim(),
      kind: 'published',
    };
  });
}

function atomItems(feed: Node): ImportedItem[] {
  return list(feed.entry).map((raw) => {
    const entry = raw as Node;
    const links = list(entry.link) as Node[];
    const alternate = links.find((link) => (link['@_rel'] ?? 'alternate') === 'alternate') ?? links[0];
    const content = text(entry.content);
    return {
      title: text(entry.title).trim(),
      slug: slugFromLink(text(alternate?.['@_href'])),
      html: content || text(entry.summary),
      excerpt: content ? text(entry.summary) : '',
      date: date(text(entry.published)) ?? date(text(entry.updated)),
      tags: list(entry.category)
        .map((category) => text((category as Node)['@_term']).trim())
        .filter(Boolean),
      author: text((list(entry.author)[0] as Node | undefined)?.name).trim(),
      kind: 'published',
    };
  });
}

/**
 * Articles from another publication: a WordPress export (WXR), an RSS 2.0 or an Atom feed. Each
 * post keeps its title, date, tags, author and address (its slug, so that old links find it at
 * /articles/<slug>); its HTML becomes Markdown; images embedded in the file are stored as
 * uploads. Posts are published at their original date and never announced by email; drafts stay
 * drafts; pages, attachments and menus are passed over. An address already used is not imported
 * twice, so a file imported again adds only what is new. Every item gets a line in the report.
 */
@Injectable()
export class ArticleImporter {
  private readonly logger = new Logger('ArticleImporter');
  /** The XML reader and the HTML converter, loaded at the first import: a start need not pay for them. */
  private tools:
    Promise<{ readonly turndown: TurndownService; readonly Parser: typeof XMLParser }> | undefined;
  private conversion: Conversion = { stored: new Map(), described: 0, title: '' };

  constructor(
    @Inject(ArticlesService) private readonly articles: ArticlesService,
    @Inject(ArticlesRepository) private readonly repository: ArticlesRepository,
    @Inject(MediaLibrary) private readonly media: MediaLibrary,
  ) {}

  private load() {
    this.tools ??= Promise.all([import('turndown'), import('fast-xml-parser')]).then(
      ([{ default: Turndown }, { XMLParser: Parser }]) => ({ turndown: this.converter(Turndown), Parser }),
    );
    return this.tools;
  }

  private converter(Turndown: typeof TurndownService): TurndownService {
    const turndown = new Turndown({ headingStyle: 'atx', codeBlockStyle: 'fenced', emDelimiter: '*' });
    turndown.remove(['script', 'style', 'iframe', 'object', 'embed', 'form']);
    turndown.addRule('image', {
      filter: 'img',
      replacement: (_content, node) => {
        const element = node as unknown as { getAttribute(name: string): string | null };
        const given = element.getAttribute('src') ?? '';
        const source = this.conversion.stored.get(given) ?? given;
        if (source === '' || source.startsWith('data:')) return '';
        let alt = (element.getAttribute('alt') ?? '').replace(/[[\]\s]+/g, ' ').trim();
        if (alt === '') {
          this.conversion.described += 1;
          // An image the file embedded has no name of its own: the post's title stands in.
          alt = this.conversion.stored.has(given)
            ? this.conversion.title
            : decodeURIComponent(source.split('/').pop() ?? '')
                .replace(/\.[a-z0-9]+$/i, '')
                .replace(/[-_]+/g, ' ')
                .trim() || this.conversion.title;
        }
        return `![${alt}](${source})`;
      },
    });
    return turndown;
  }

  async import(xml: string): Promise<ArticleImportReport> {
    const { turndown, Parser } = await this.load();
    const { format, items } = this.read(xml, Parser);
    const report: ArticleImportReport = { format, imported: 0, drafts: 0, skipped: 0, refused: 0, lines: [] };
    for (const [index, item] of items.entries()) {
      const line = await this.importOne(item, index + 1, turndown);
      report.lines.push(line);
      if (line.outcome === 'imported') report.imported += 1;
      else if (line.outcome === 'draft') report.drafts += 1;
      else if (line.outcome === 'refused') report.refused += 1;
      else report.skipped += 1;
    }
    this.logger.log({ format, imported: report.imported, drafts: report.drafts }, 'Articles imported');
    return report;
  }

  /** The file's format and items; a file that is none of the three refuses the whole import. */
  private read(
    xml: string,
    Parser: typeof XMLParser,
  ): { format: ArticleImportFormat; items: ImportedItem[] } {
    const parser = new Parser({
      ignoreAttributes: false,
      attributeNamePrefix: '@_',
      // Entities declared in the file itself are never expanded: no billion laughs.
      processEntities: true,
      htmlEntities: true,
      parseTagValue: false,
      trimValues: false,
    });
    let document: Node;
    try {
      document = parser.parse(xml, true) as Node;
    } catch (error) {
      throw InvalidInputException.field('file', `is not well-formed XML: ${(error as Error).message}`, 'xml');
    }
    const rss = document.rss as Node | undefined;
    const channel = rss?.channel as Node | undefined;
    if (channel) {
      const wordpress =
        typeof rss?.['@_xmlns:wp'] === 'string' ||
        list(channel.item).some((item) => 'wp:post_type' in (item as Node));
      return wordpress
        ? { format: 'wordpress', items: wordpressItems(channel) }
        : { format: 'rss', items: rssItems(channel) };
    }
    const feed = document.feed as Node | undefined;
    if (feed) return { format: 'atom', items: atomItems(feed) };
    throw InvalidInputException.field(
      'file',
      'is neither a WordPress export, an RSS feed nor an Atom feed',
      'feed-format',
    );
  }

  private async importOne(
    item: ImportedItem,
    number: number,
    turndown: TurndownService,
  ): Promise<ArticleImportLine> {
    const title = truncateText(item.title.replace(/\s+/g, ' '), 300);
    const line = { item: number, title };
    if (item.kind === 'other') return { ...line, outcome: 'skipped', code: 'not-a-post' };
    if (title === '') return { ...line, outcome: 'refused', code: 'no-title' };
    const slug = (item.slug || slugify(title)).slice(0, SLUG_MAX_LENGTH).replace(/-+$/, '');
    if (!SLUG_PATTERN.test(slug)) return { ...line, outcome: 'refused', code: 'invalid', detail: 'slug' };
    if ((await this.repository.slugsLike(slug)).has(slug))
      return { ...line, outcome: 'skipped', code: 'exists', detail: slug };
    const { markdown, described } = await this.markdownOf(item.html, title, turndown);
    const input = {
      title,
      slug,
      lede: truncateText(plainText(item.excerpt), LEDE_MAX),
      body_md: markdown,
      tags: [...new Set(item.tags.map((tag) => truncateText(tag.replace(/\s+/g, ' '), 60)))].slice(
        0,
        TAG_MAX,
      ),
      access: 'public' as const,
      author: truncateText(item.author, 200),
    };
    const failed = await failedFields(input);
    if (failed) return { ...line, outcome: 'refused', code: 'invalid', detail: failed };
    const published = item.kind === 'published';
    try {
      await this.articles.importArticle(input, published ? (item.date ?? new Date()) : undefined);
    } catch (error) {
      if (error instanceof FieldConflictException)
        return { ...line, outcome: 'skipped', code: 'exists', detail: slug };
      if (error instanceof InvalidInputException)
        return {
          ...line,
          outcome: 'refused',
          code: 'invalid',
          detail: error.problems.map((p) => p.field).join(', '),
        };
      throw error;
    }
    return {
      ...line,
      outcome: published ? 'imported' : 'draft',
      ...(described > 0 ? { code: 'image-alt' as const, detail: String(described) } : {}),
    };
  }

  /**
   * The post's HTML as Markdown. An image embedded in the file (a data: address) is stored as an
   * upload; one without a description gets its file's name as one, counted for the report.
   */
  private async markdownOf(
    html: string,
    title: string,
    turndown: TurndownService,
  ): Promise<{ markdown: string; described: number }> {
    const stored = new Map<string, string>();
    for (const match of html.matchAll(/<img\b[^>]*\bsrc="(data:[^"]+)"/g)) {
      const source = match[1] ?? '';
      const embedded = DATA_IMAGE.exec(source);
      if (!embedded?.[2] || stored.has(source)) continue;
      try {
        stored.set(source, (await this.media.add(Buffer.from(embedded[2], 'base64'))).address);
      } catch {
        stored.set(source, '');
      }
    }
    // WordPress stores paragraphs as blank lines, not <p>: make them paragraphs first.
    const paragraphs = /<p[\s>]/i.test(html)
      ? html
      : html
          .split(/\n\s*\n/)
          .map((block) =>
            /^\s*<(?:h\d|ul|ol|blockquote|pre|figure|table|div)/i.test(block) ? block : `<p>${block}</p>`,
          )
          .join('\n');
    // Turndown runs synchronously: no other post's conversion can come between.
    this.conversion = { stored, described: 0, title: title.replace(/[[\]]/g, '') };
    const markdown = turndown
      .turndown(paragraphs.replace(MORE, `<p>${MORE_PLACEHOLDER}</p>`))
      .replace(new RegExp(`^${MORE_PLACEHOLDER}$`, 'm'), '<!--more-->')
      .trim();
    return { markdown, described: this.conversion.described };
  }
}
