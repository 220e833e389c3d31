import { Controller, Get, Header, Inject } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import { ArticlesRepository } from '../articles/articles.repository.js';
import type { AppConfig } from '../config/app-config.js';
import { APP_CONFIG } from '../config/config.module.js';
import { articleUrl, tagUrl } from './blog-view.js';
import { escapeXml } from './feed-builder.js';

/** The most addresses one sitemap may list (sitemaps.org). */
const SITEMAP_LIMIT = 50_000;
/** The desk, the API, and every address that carries a reader's token or acts for one. */
const CLOSED_TO_CRAWLERS = [
  '/admin',
  '/api/',
  '/docs',
  '/preferences/',
  '/unsubscribe/',
  '/confirm/',
  '/sign-in',
  '/account',
  '/editions/',
  '/r/',
  '/o/',
  '/feedback/',
  '/stripe/',
];
/** Crawlers come rarely and the list changes with each article: kept a minute by caches. */
const CRAWLER_CACHE_CONTROL = 'public, max-age=60';

/**
 * What search engines read: robots.txt keeps them out of the desk, the API and every address that
 * carries a reader's token; sitemap.xml lists the public pages (articles as everyone sees them,
 * their tags, the home page).
 */
@ApiExcludeController()
@Controller()
export class CrawlersController {
  constructor(
    @Inject(ArticlesRepository) private readonly articles: ArticlesRepository,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  @Get('robots.txt')
  @Header('Content-Type', 'text/plain; charset=utf-8')
  @Header('Cache-Control', CRAWLER_CACHE_CONTROL)
  robots(): string {
    return [
      'User-agent: *',
      ...CLOSED_TO_CRAWLERS.map((prefix) => `Disallow: ${prefix}`),
      `Sitemap: ${this.config.publicUrl}/sitemap.xml`,
      '',
    ].join('\n');
  }

  @Get('sitemap.xml')
  @Header('Content-Type', 'application/xml; charset=utf-8')
  @Header('Cache-Control', CRAWLER_CACHE_CONTROL)
  async sitemap(): Promise<string> {
    const entries = await this.articles.sitemapEntries(SITEMAP_LIMIT);
    const url = (loc: string, lastmod?: Date): string =>
      `<url><loc>${escapeXml(loc)}</loc>${lastmod ? `<lastmod>${lastmod.toISOString()}</lastmod>` : ''}</url>`;
    const tags = [...new Set(entries.flatMap((entry) => entry.tagSlugs))].sort();
    return [
      '<?xml version="1.0" encoding="UTF-8"?>',
      '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">',
      url(`${this.config.publicUrl}/`, entries[0]?.updatedAt),
      ...entries.map((entry) => url(articleUrl(this.config, entry.slug), entry.updatedAt)),
      ...tags
        .slice(0, Math.max(0, SITEMAP_LIMIT - 1 - entries.length))
        .map((tag) => url(tagUrl(this.config, tag))),
      '</urlset>',
      '',
    ].join('\n');
  }
}
