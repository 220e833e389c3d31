import { Controller, Get, Header, Inject } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import { ArticlesRepository } from '../articles/articles.repository.js';
import type { AppConfig } from '../config/app-config.js';
import { APP_CONFIG } from '../config/config.module.js';
import { PublicationSettings } from '../settings/publication-settings.js';
import { type ArticleView, toArticleView } from './blog-view.js';
import { buildJsonFeed, buildRss } from './feed-builder.js';
import { PUBLIC_CACHE_CONTROL } from './cache-policy.js';

const FEED_ITEMS = 20;

@ApiExcludeController()
@Controller()
export class FeedController {
  constructor(
    @Inject(ArticlesRepository) private readonly articles: ArticlesRepository,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(PublicationSettings) private readonly publication: PublicationSettings,
  ) {}

  private async latest(): Promise<ArticleView[]> {
    const page = await this.articles.listPublished({ limit: FEED_ITEMS, offset: 0 });
    return page.items.map((row) => toArticleView(this.config, row, 'public'));
  }

  @Get('feed.xml')
  @Header('Content-Type', 'application/rss+xml; charset=utf-8')
  @Header('Cache-Control', PUBLIC_CACHE_CONTROL)
  async rss(): Promise<string> {
    return buildRss(this.config, this.publication.current(), await this.latest());
  }

  @Get('feed.json')
  @Header('Content-Type', 'application/feed+json; charset=utf-8')
  @Header('Cache-Control', PUBLIC_CACHE_CONTROL)
  async json(): Promise<string> {
    return JSON.stringify(buildJsonFeed(this.config, this.publication.current(), await this.latest()));
  }
}
