import { Controller, Get, Header, Inject, NotFoundException, Param, Query, Req, Res } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { ApiExcludeController } from '@nestjs/swagger';
import { ArticlesRepository, type Page } from '../articles/articles.repository.js';
import { CommentsService } from '../comments/comments.service.js';
import { foldForSearch } from '../content/search-text.js';
import type { ArticleRow } from '../database/schema.js';
import type { AppConfig } from '../config/app-config.js';
import { APP_CONFIG } from '../config/config.module.js';
import { PublicationSettings } from '../settings/publication-settings.js';
import { InvalidInputException } from '../http/api-error.js';
import { EditionsService } from '../editions/editions.service.js';
import { BlogReaders } from './blog-readers.js';
import { ArticlePages } from './article-pages.js';
import { type ArticleView, parseSlug, toArticleView } from './blog-view.js';
import { PageRenderer } from './page-renderer.js';

const HTML = 'text/html; charset=utf-8';

/** The longest query search takes: enough for any sentence a reader remembers. */
const SEARCH_MAX_LENGTH = 200;

interface Pagination {
  readonly page: number;
  readonly pages: number;
  readonly newer?: string;
  readonly older?: string;
}

/** The address of each page of a list at `base`: the first is `base` itself. */
function pageLinks(base: string): (page: number) => string {
  return (page) => (page === 1 ? base : `${base}?page=${page}`);
}

function parsePage(raw: string | undefined): number {
  if (raw === undefined) return 1;
  if (!/^[1-9]\d{0,5}$/.test(raw))
    throw InvalidInputException.field('page', 'must be a whole number from 1', 'page');
  return Number(raw);
}

@ApiExcludeController()
@Controller()
export class BlogController {
  constructor(
    @Inject(ArticlesRepository) private readonly articles: ArticlesRepository,
    @Inject(PageRenderer) private readonly renderer: PageRenderer,
    @Inject(BlogReaders) private readonly readers: BlogReaders,
    @Inject(EditionsService) private readonly editions: EditionsService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(PublicationSettings) private readonly publication: PublicationSettings,
    @Inject(ArticlePages) private readonly pages: ArticlePages,
    @Inject(CommentsService) private readonly comments: CommentsService,
  ) {}

  /** One page of published articles (newest first), or a 404 past the last page. */
  private listing(
    pageParam: string | undefined,
    baseUrl: string,
    tagSlug?: string,
  ): Promise<{ articles: ArticleView[]; pagination?: Pagination }> {
    return this.paged(
      pageParam,
      pageLinks(baseUrl),
      (limit, offset) => this.articles.listPublished({ limit, offset, tagSlug }),
      tagSlug !== undefined,
    );
  }

  /** A page of articles as cards, with links to the pages around it; a 404 past the last one. */
  private async paged(
    pageParam: string | undefined,
    link: (page: number) => string,
    fetch: (limit: number, offset: number) => Promise<Page<ArticleRow>>,
    emptyIsMissing: boolean,
  ): Promise<{ articles: ArticleView[]; pagination?: Pagination; total: number }> {
    const { items, ...rest } = await this.pageOf(pageParam, link, fetch, emptyIsMissing);
    return { ...rest, articles: await this.cards(items) };
  }

  /** Articles as list cards: what anyone may read, and how many comments each shows. */
  private async cards(rows: readonly ArticleRow[]): Promise<ArticleView[]> {
    const counted = this.publication.current().comments !== 'off';
    const counts = counted ? await this.comments.counts(rows.map((row) => row.id)) : undefined;
    return rows.map((row) => ({
      ...toArticleView(this.config, row, 'public'),
      ...(counts ? { commentCount: counts.get(row.id) ?? 0 } : {}),
    }));
  }

  /** A page of any list, with links to the pages around it; a 404 past the last one. */
  private async pageOf<T>(
    pageParam: string | undefined,
    link: (page: number) => string,
    fetch: (limit: number, offset: number) => Promise<Page<T>>,
    emptyIsMissing: boolean,
  ): Promise<{ items: T[]; pagination?: Pagination; total: number }> {
    const page = parsePage(pageParam);
    const limit = this.config.pageSize;
    const result = await fetch(limit, (page - 1) * limit);
    if (result.items.length === 0 && (page > 1 || emptyIsMissing))
      throw new NotFoundException('No such page');
    const pages = Math.max(1, Math.ceil(result.total / limit));
    return {
      total: result.total,
      items: result.items,
      pagination:
        pages > 1
          ? {
              page,
              pages,
              newer: page > 1 ? link(page - 1) : undefined,
              older: page < pages ? link(page + 1) : undefined,
            }
          : undefined,
    };
  }

  /**
   * Search over titles, ledes and what the public may read of each article. Every reader gets the
   * same answer (premium text was never indexed), so members and strangers alike.
   */
  @Get('search')
  @Header('Content-Type', HTML)
  @Header('Cache-Control', 'no-store')
  async search(
    @Req() request: FastifyRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
    @Query('q') queryParam?: unknown,
    @Query('page') pageParam?: string,
  ): Promise<string> {
    const query = (typeof queryParam === 'string' ? queryParam : '').replace(/\s+/g, ' ').trim();
    const t = this.renderer.t;
    if (query.length > SEARCH_MAX_LENGTH)
      throw new InvalidInputException([
        {
          field: 'q',
          message: `must be at most ${SEARCH_MAX_LENGTH} characters`,
          code: 'maxLength',
          limit: SEARCH_MAX_LENGTH,
        },
      ]);
    const base = `${this.config.publicUrl}/search`;
    const view =
      query === ''
        ? { articles: [], total: 0 }
        : await this.paged(
            pageParam,
            (n) => `${base}?q=${encodeURIComponent(query)}${n === 1 ? '' : `&page=${n}`}`,
            (limit, offset) => this.articles.searchPublished(foldForSearch(query), limit, offset),
            false,
          );
    const reader = await this.readers.identify(request, reply);
    return this.renderer.readerPage(
      'search',
      query === '' ? t.search : `${t.search} « ${query} »`,
      {
        ...view,
        query,
        searched: query !== '',
        found: view.total > 0,
        reader,
      },
      '/search',
    );
  }

  @Get()
  @Header('Content-Type', HTML)
  async home(
    @Req() request: FastifyRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
    @Query('page') pageParam?: string,
  ): Promise<string> {
    const home = `${this.config.publicUrl}/`;
    const view = await this.listing(pageParam, home);
    const reader = await this.readers.identify(request, reply);
    const page = view.pagination?.page ?? 1;
    const publication = this.publication.current();
    return this.renderer.render(
      'home',
      {
        title: page > 1 ? `${publication.name} — ${page}` : publication.name,
        description: publication.description || publication.name,
        canonical: page > 1 ? `${home}?page=${page}` : home,
        ogType: 'website',
      },
      { ...view, reader },
    );
  }

  /** Every month that has articles, by year: the blog's archive. */
  @Get('archives')
  @Header('Content-Type', HTML)
  async archives(
    @Req() request: FastifyRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<string> {
    const publication = this.publication.current();
    const months = await this.articles.months(publication.timeZone);
    const years = new Map<string, { month: string; count: number; url: string }[]>();
    for (const { month, count } of months) {
      const [year = '', number = ''] = month.split('-');
      const url = `${this.config.publicUrl}/archives/${year}/${number}`;
      years.set(year, [...(years.get(year) ?? []), { month, count, url }]);
    }
    const reader = await this.readers.identify(request, reply);
    const t = this.renderer.t;
    return this.renderer.render(
      'archives',
      {
        title: `${t.archives} — ${publication.name}`,
        description: `${t.archives} — ${publication.name}`,
        canonical: `${this.config.publicUrl}/archives`,
        ogType: 'website',
      },
      { years: [...years].map(([year, list]) => ({ year, months: list })), reader },
    );
  }

  /** The articles of one month, in the publication's time zone. */
  @Get('archives/:year/:month')
  @Header('Content-Type', HTML)
  async month(
    @Req() request: FastifyRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
    @Param('year') year: string,
    @Param('month') monthParam: string,
    @Query('page') pageParam?: string,
  ): Promise<string> {
    if (!/^\d{4}$/.test(year) || !/^(0[1-9]|1[0-2])$/.test(monthParam))
      throw new NotFoundException('No such month');
    const month = `${year}-${monthParam}`;
    const publication = this.publication.current();
    const base = `${this.config.publicUrl}/archives/${year}/${monthParam}`;
    const view = await this.paged(
      pageParam,
      pageLinks(base),
      (limit, offset) => this.articles.publishedIn(month, publication.timeZone, limit, offset),
      true,
    );
    const reader = await this.readers.identify(request, reply);
    const name = this.renderer.monthName(month);
    return this.renderer.render(
      'tag',
      {
        title: `${name} — ${publication.name}`,
        description: `${name} — ${publication.name}`,
        canonical:
          view.pagination && view.pagination.page > 1 ? `${base}?page=${view.pagination.page}` : base,
        ogType: 'website',
      },
      { ...view, heading: name, reader },
    );
  }

  /** The editions that went out, as the public may read them (the free edition's teasers). */
  @Get('newsletter')
  @Header('Content-Type', HTML)
  async newsletter(
    @Req() request: FastifyRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
    @Query('page') pageParam?: string,
  ): Promise<string> {
    const base = `${this.config.publicUrl}/newsletter`;
    const link = pageLinks(base);
    const { items, pagination } = await this.pageOf(
      pageParam,
      link,
      (limit, offset) => this.editions.sentPage(limit, offset),
      false,
    );
    const reader = await this.readers.identify(request, reply);
    const publication = this.publication.current();
    const t = this.renderer.t;
    return this.renderer.render(
      'newsletter',
      {
        title: `${t.newsletterArchive} — ${publication.name}`,
        description: `${t.newsletterArchive} — ${publication.name}`,
        canonical: pagination ? link(pagination.page) : base,
        ogType: 'website',
      },
      {
        editions: items.map((edition) => ({
          subject: edition.subject,
          preheader: edition.preheader,
          sentAt: edition.startedAt ?? edition.updatedAt,
          url: `${this.config.publicUrl}/editions/${edition.id}`,
        })),
        pagination,
        reader,
      },
    );
  }

  /** Where "Flux RSS" leads a person: what a feed is, its addresses, and the latest articles. */
  @Get('feed')
  @Header('Content-Type', HTML)
  async feed(
    @Req() request: FastifyRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<string> {
    const latest = await this.articles.listPublished({ limit: this.config.pageSize, offset: 0 });
    const reader = await this.readers.identify(request, reply);
    const publication = this.publication.current();
    const t = this.renderer.t;
    return this.renderer.render(
      'feed',
      {
        title: `${t.feed} — ${publication.name}`,
        description: `${t.feed} — ${publication.name}`,
        canonical: `${this.config.publicUrl}/feed`,
        ogType: 'website',
      },
      {
        rss: `${this.config.publicUrl}/feed.xml`,
        json: `${this.config.publicUrl}/feed.json`,
        articles: await this.cards(latest.items),
        reader,
      },
    );
  }

  /** The article as its reader may read it: in full for premium readers, else up to the cut. */
  @Get('articles/:slug')
  @Header('Content-Type', HTML)
  async article(
    @Req() request: FastifyRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
    @Param('slug') slugParam: string,
    @Query('reply') replyParam?: unknown,
    @Query('comment') commentParam?: unknown,
  ): Promise<Buffer> {
    const read = await this.readers.readArticle(request, reply, parseSlug(slugParam, 'article'));
    if (!read) throw new NotFoundException('No such article');
    const t = this.renderer.t;
    // Where the comment form leads back to once a comment is taken (CommentsController).
    const notice =
      commentParam === 'pending'
        ? t.commentPending
        : commentParam === 'approved'
          ? t.commentPublished
          : undefined;
    return this.pages.render(read, {
      ...(typeof replyParam === 'string' ? { replyTo: replyParam } : {}),
      ...(notice ? { notice } : {}),
    });
  }

  @Get('tags/:tag')
  @Header('Content-Type', HTML)
  async tag(
    @Req() request: FastifyRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
    @Param('tag') tagParam: string,
    @Query('page') pageParam?: string,
  ): Promise<string> {
    const tagSlug = parseSlug(tagParam, 'tag');
    const base = `${this.config.publicUrl}/tags/${tagSlug}`;
    const view = await this.listing(pageParam, base, tagSlug);
    const reader = await this.readers.identify(request, reply);
    const name = view.articles.flatMap((a) => a.tags).find((tag) => tag.url === base)?.name ?? tagSlug;
    return this.renderer.render(
      'tag',
      {
        title: `${name} — ${this.publication.current().name}`,
        description: `${name} — ${this.publication.current().name}`,
        canonical:
          view.pagination && view.pagination.page > 1 ? `${base}?page=${view.pagination.page}` : base,
        ogType: 'website',
      },
      { ...view, heading: `${this.renderer.t.taggedWith} « ${name} »`, reader },
    );
  }

  @Get('assets/blog.css')
  @Header('Content-Type', 'text/css; charset=utf-8')
  @Header('Cache-Control', 'public, max-age=31536000, immutable')
  stylesheet(): string {
    return this.renderer.stylesheet;
  }

  @Get('assets/favicon.svg')
  @Header('Content-Type', 'image/svg+xml')
  @Header('Cache-Control', 'public, max-age=31536000, immutable')
  icon(): string {
    return this.renderer.icon;
  }
}
