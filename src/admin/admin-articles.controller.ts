import {
  Body,
  Controller,
  Get,
  Inject,
  Param,
  Post,
  Query,
  Res,
  UseFilters,
  UseGuards,
} from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { CreateArticleDto } from '../articles/dto/article-input.dto.js';
import { ArticlesService } from '../articles/articles.service.js';
import type { AppConfig } from '../config/app-config.js';
import { APP_CONFIG } from '../config/config.module.js';
import { ARTICLE_STATUSES, type ArticleRow, type ArticleStatus } from '../database/schema.js';
import { uuidParam } from '../http/validation.js';
import { formatPublicationTime, parsePublicationTime } from '../lib/publication-time.js';
import { AdminRenderer } from './admin-renderer.js';
import { Desk, type DeskContext, viewerOf } from './desk-context.js';
import { DeskExceptionFilter } from './desk-exception.filter.js';
import { formProblems } from './desk-form-errors.js';
import { checkForm, one, problemsByField, seeOther, sendHtml } from './desk-http.js';
import { DeskSessionGuard } from './desk-session.guard.js';

type Form = Record<string, unknown>;
const uuid = uuidParam('an article');
const PAGE_SIZE = 25;
const ACTIONS = ['save', 'publish', 'schedule', 'unpublish'] as const;
type ArticleAction = (typeof ACTIONS)[number];

/** What the form shows: the stored article, or what the editor typed when it was refused. */
interface ArticleFormValues {
  readonly title: string;
  readonly slug: string;
  readonly lede: string;
  readonly body_md: string;
  readonly tags: string;
  readonly access: string;
  readonly author: string;
  readonly publish_at: string;
}

/** The editor's desk pages for articles: the list, the editor with its live preview. */
@ApiExcludeController()
@UseFilters(DeskExceptionFilter)
@UseGuards(DeskSessionGuard)
@Controller('admin/articles')
export class AdminArticlesController {
  constructor(
    @Inject(ArticlesService) private readonly articles: ArticlesService,
    @Inject(AdminRenderer) private readonly renderer: AdminRenderer,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  @Get()
  async list(@Desk() desk: DeskContext, @Query() query: Form, @Res() reply: FastifyReply): Promise<void> {
    const statusParam = one(query.status);
    const status = ARTICLE_STATUSES.find((s) => s === statusParam);
    const page = Math.max(1, Math.min(100_000, Number.parseInt(one(query.page) ?? '1', 10) || 1));
    const result = await this.articles.list({ page, limit: PAGE_SIZE, ...(status ? { status } : {}) });
    const t = this.renderer.t;
    await sendHtml(
      reply,
      this.renderer.page(
        'articles',
        { title: t.articles, section: 'articles', viewer: viewerOf(desk) },
        {
          articles: result.items,
          status: status ?? '',
          statuses: ARTICLE_STATUSES,
          nextPage: page * PAGE_SIZE < result.total ? page + 1 : undefined,
          previousPage: page > 1 ? page - 1 : undefined,
        },
      ),
    );
  }

  @Get('new')
  async newForm(@Desk() desk: DeskContext, @Res() reply: FastifyReply): Promise<void> {
    await this.form(reply, desk, undefined, this.values(undefined), {});
  }

  @Get(':id')
  async edit(
    @Desk() desk: DeskContext,
    @Param('id', uuid) id: string,
    @Res() reply: FastifyReply,
    @Query() query: Form,
  ): Promise<void> {
    const article = await this.articles.get(id);
    const notice = one(query.saved) ? this.renderer.t.saved : undefined;
    await this.form(reply, desk, article, this.values(article), {}, 200, notice);
  }

  @Post()
  async create(@Desk() desk: DeskContext, @Body() form: Form, @Res() reply: FastifyReply): Promise<void> {
    await this.save(desk, undefined, form, reply);
  }

  @Post('preview')
  async preview(@Body() form: Form, @Res() reply: FastifyReply): Promise<void> {
    const body = (one(form.body_md) ?? '').slice(0, 500_000);
    const cut = this.articles.previewCut(body, one(form.lede) ?? '');
    const html = this.renderer.fragment('article-preview', {
      ...cut,
      premium: one(form.access) !== 'public',
      title: one(form.title) ?? '',
      lede: one(form.lede) ?? '',
    });
    await sendHtml(reply, html);
  }

  @Post(':id')
  async update(
    @Desk() desk: DeskContext,
    @Param('id', uuid) id: string,
    @Body() form: Form,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    await this.save(desk, await this.articles.get(id), form, reply);
  }

  @Post(':id/delete')
  async delete(@Param('id', uuid) id: string, @Res() reply: FastifyReply): Promise<void> {
    await this.articles.delete(id);
    await seeOther(reply, '/admin/articles');
  }

  private values(article: ArticleRow | undefined): ArticleFormValues {
    return {
      title: article?.title ?? '',
      slug: article?.slug ?? '',
      lede: article?.lede ?? '',
      body_md: article?.bodyMd ?? '',
      tags: article?.tags.join(', ') ?? '',
      access: article?.access ?? 'premium',
      author: article?.author ?? '',
      // Minutes, as the datetime-local field shows them.
      publish_at: article?.publishAt
        ? formatPublicationTime(article.publishAt, this.config.timezone).slice(0, 16)
        : '',
    };
  }

  private async form(
    reply: FastifyReply,
    desk: DeskContext,
    article: ArticleRow | undefined,
    values: ArticleFormValues,
    errors: Record<string, string>,
    status = 200,
    notice?: string,
  ): Promise<void> {
    const t = this.renderer.t;
    const cut = this.articles.previewCut(values.body_md, values.lede);
    await sendHtml(
      reply,
      this.renderer.page(
        'article-form',
        {
          title: article ? t.editArticle : t.newArticle,
          section: 'articles',
          viewer: viewerOf(desk),
          notice,
        },
        {
          article,
          values,
          errors,
          action: article ? `/admin/articles/${article.id}` : '/admin/articles',
          preview: { ...cut, premium: values.access !== 'public', title: values.title, lede: values.lede },
          publicUrl:
            article?.status === 'published' ? `${this.config.publicUrl}/articles/${article.slug}` : undefined,
        },
      ),
      status,
    );
  }

  /** Saves the form, then does what its button asked: publish, schedule or unpublish. */
  private async save(
    desk: DeskContext,
    current: ArticleRow | undefined,
    form: Form,
    reply: FastifyReply,
  ): Promise<void> {
    const values: ArticleFormValues = {
      title: one(form.title) ?? '',
      slug: (one(form.slug) ?? '').trim(),
      lede: one(form.lede) ?? '',
      body_md: (one(form.body_md) ?? '').replace(/\r\n/g, '\n'),
      tags: one(form.tags) ?? '',
      access: one(form.access) ?? 'premium',
      author: one(form.author) ?? '',
      publish_at: one(form.publish_at) ?? '',
    };
    const action: ArticleAction = ACTIONS.find((a) => a === one(form.action)) ?? 'save';
    const refuse = (errors: Record<string, string>): Promise<void> =>
      this.form(reply, desk, current, values, errors, 400);

    if (action === 'schedule') {
      const at = parsePublicationTime(values.publish_at, this.config.timezone);
      if (!at || at.getTime() <= Date.now()) {
        return refuse({ publish_at: this.renderer.t.timeInvalid });
      }
    }
    const checked = await checkForm(CreateArticleDto, {
      title: values.title,
      ...(values.slug !== '' ? { slug: values.slug } : {}),
      lede: values.lede,
      body_md: values.body_md,
      tags: values.tags
        .split(',')
        .map((tag) => tag.trim())
        .filter((tag) => tag !== ''),
      access: values.access,
      author: values.author,
    });
    if (!checked.ok) return refuse(problemsByField(checked.problems));

    let article: ArticleRow;
    try {
      article = current
        ? await this.articles.update(current.id, checked.value)
        : await this.articles.create(checked.value);
      const status: ArticleStatus = article.status;
      if (action === 'publish') article = await this.articles.publishNow(article.id);
      else if (action === 'schedule') article = await this.articles.schedule(article.id, values.publish_at);
      else if (action === 'unpublish' && status !== 'draft')
        article = await this.articles.unpublish(article.id);
    } catch (error) {
      return refuse(formProblems(error));
    }
    await seeOther(reply, `/admin/articles/${article.id}?saved=1`);
  }
}
