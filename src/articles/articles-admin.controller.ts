import {
  Body,
  Controller,
  Delete,
  Get,
  HttpCode,
  Inject,
  Param,
  Patch,
  Post,
  Query,
  UseGuards,
} from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiTags } from '@nestjs/swagger';
import type { AppConfig } from '../config/app-config.js';
import { APP_CONFIG } from '../config/config.module.js';
import { EditorAuthGuard } from '../http/editor-auth.guard.js';
import { uuidParam } from '../http/validation.js';
import { ArticlePageResource, ArticleResource } from './article.resource.js';
import { ArticlesService } from './articles.service.js';
import { CreateArticleDto, ScheduleArticleDto, UpdateArticleDto } from './dto/article-input.dto.js';
import { ListArticlesQuery } from './dto/list-articles.query.js';

const uuid = uuidParam('an article');

@ApiTags('articles')
@ApiBearerAuth()
@UseGuards(EditorAuthGuard)
@Controller('api/articles')
export class ArticlesAdminController {
  constructor(
    @Inject(ArticlesService) private readonly articles: ArticlesService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  private resource = (row: Parameters<typeof ArticleResource.from>[0]): ArticleResource =>
    ArticleResource.from(row, this.config.publicUrl);

  @Post()
  @ApiOkResponse({ type: ArticleResource })
  async create(@Body() body: CreateArticleDto): Promise<ArticleResource> {
    return this.resource(await this.articles.create(body));
  }

  @Get()
  @ApiOkResponse({ type: ArticlePageResource })
  async list(@Query() query: ListArticlesQuery): Promise<ArticlePageResource> {
    const page = Number(query.page ?? 1);
    const limit = Number(query.limit ?? 20);
    const result = await this.articles.list({ status: query.status, page, limit });
    return { items: result.items.map(this.resource), page, limit, total: result.total };
  }

  @Get(':id')
  @ApiOkResponse({ type: ArticleResource })
  async get(@Param('id', uuid) id: string): Promise<ArticleResource> {
    return this.resource(await this.articles.get(id));
  }

  @Patch(':id')
  @ApiOkResponse({ type: ArticleResource })
  async update(@Param('id', uuid) id: string, @Body() body: UpdateArticleDto): Promise<ArticleResource> {
    return this.resource(await this.articles.update(id, body));
  }

  @Delete(':id')
  @HttpCode(204)
  async delete(@Param('id', uuid) id: string): Promise<void> {
    await this.articles.delete(id);
  }

  @Post(':id/publish')
  @HttpCode(200)
  @ApiOkResponse({ type: ArticleResource })
  async publish(@Param('id', uuid) id: string): Promise<ArticleResource> {
    return this.resource(await this.articles.publishNow(id));
  }

  @Post(':id/schedule')
  @HttpCode(200)
  @ApiOkResponse({ type: ArticleResource })
  async schedule(@Param('id', uuid) id: string, @Body() body: ScheduleArticleDto): Promise<ArticleResource> {
    return this.resource(await this.articles.schedule(id, body.publish_at));
  }

  @Post(':id/unpublish')
  @HttpCode(200)
  @ApiOkResponse({ type: ArticleResource })
  async unpublish(@Param('id', uuid) id: string): Promise<ArticleResource> {
    return this.resource(await this.articles.unpublish(id));
  }
}
