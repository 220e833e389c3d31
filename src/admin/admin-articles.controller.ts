import {
  Body,
  Controller,
  Get,
  Inject,
  Param,
  Post,
  Query,
  Req,
  Res,
  UseFilters,
  UseGuards,
} from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { CreateArticleDto } from '../articles/dto/article-input.dto.js';
import { ArticleImporter } from '../articles/article-importer.js';
import { TakesBody } from '../http/request-bodies.js';
import { ImportProgress, XML_FILE } from './import-progress.js';
import { ArticlesService } from '../articles/articles.service.js';
import type { AppConfig } from '../config/app-config.js';
import { APP_CONFIG } from '../config/config.module.js';
import { PublicationSettings } from '../settings/publication-settings.js';
import { ARTICLE_STATUSES, type ArticleRow, type ArticleStatus } from '../database/schema.js';
import { uuidParam } from '../http/validation.js';
import { parsePublicationTime } from '../lib/publication-time.js';
import { AdminRenderer } from './admin-renderer.js';
import { Desk, type DeskContext } from './desk-context.js';
import { DeskExceptionFilter } from './desk-exception.filter.js';
import { formProblems, problemsByField } from './desk-form-errors.js';
import {
  type ArticleFormValues,
  articleInput,
  articlePreview,
  postedArticleAction,
  postedArticleValues,
  storedArticleValues,
} from './article-views.js';
import { checkForm, one, seeOther } from './desk-http.js';
import { DeskSessionGuard } from './desk-session.guard.js';

type Form = Record<string, unknown>;
const uuid = uuidParam('an article');
const PAGE_SIZE = 25;

/** The editor's desk pages for articles: the list, the editor with its live preview. */
@ApiExcludeController()
@UseFilters(DeskExceptionFilter)
@UseGuards(DeskSessionGuard)
@Controller('admin/articles')
export class AdminArticlesController {
  constructor(
    @Inject(ArticlesService) private readonly articles: ArticlesService,
    @Inject(AdminRenderer) private readonly renderer: AdminRenderer,
    @Inject(PublicationSettings) private readonly publication: PublicationSettings,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(ArticleImporter) private readonly importer: ArticleImporter,
    @Inject(ImportProgress) private readonly progress: ImportProgress,
  ) {}

  @Get()
  async list(@Desk() desk: DeskContext, @Query() query: Form, @Res() reply: FastifyReply): Promise<void> {
    const statusParam = one(query.status);
    const status = ARTICLE_STATUSES.find((s) => s === statusParam);
    const page = Math.max(1, Math.min(100_000, Number.parseInt(one(query.page) ?? '1', 10) || 1));
    const result = await this.articles.list({ page, limit: PAGE_SIZE, ...(status ? { status } : {}) });
    const t = this.renderer.t;
    await this.renderer.send(
      reply,
      'articles',
      { title: t.articles, section: 'articles', desk },
      {
        articles: result.items,
        status: status ?? '',
        statuses: ARTICLE_STATUSES,
        nextPage: page * PAGE_SIZE < result.total ? page + 1 : undefined,
        previousPage: page > 1 ? page - 1 : undefined,
      },
    );
  }

  /**
   * A WordPress export or a feed as the request body, sent by the page's script with an id of its
   * choosing so that it can poll the progress; answers the report as a fragment.
   */
  @Post('import')
  @TakesBody('xml-stream')
  async import(
    @Desk() desk: DeskContext,
    @Req() request: FastifyRequest,
    @Query() query: Form,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    const file = await this.progress.receive(desk.editor.id, request, one(query.id), XML_FILE);
    const chunks: Buffer[] = [];
    for await (const chunk of file) chunks.push(chunk as Buffer);
    await this.renderer.sendReport(reply, 'article-import-report', () =>
      this.importer.import(Buffer.concat(chunks).toString('utf8')),
    );
  }

  @Get('import/:importId')
  async importState(
    @Desk() desk: DeskContext,
    @Param('importId') importId: string,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    await this.progress.answer(desk.editor.id, importId, reply);
  }

  @Get('new')
  async newForm(@Desk() desk: DeskContext, @Res() reply: FastifyReply): Promise<void> {
    await this.form(
      reply,
      desk,
      undefined,
      storedArticleValues(undefined, this.publication.current().timeZone),
      {},
    );
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
    await this.form(
      reply,
      desk,
      article,
      storedArticleValues(article, this.publication.current().timeZone),
      {},
      200,
      notice,
    );
  }

  @Post()
  async create(@Desk() desk: DeskContext, @Body() form: Form, @Res() reply: FastifyReply): Promise<void> {
    await this.save(desk, undefined, form, reply);
  }

  @Post('preview')
  async preview(@Body() form: Form, @Res() reply: FastifyReply): Promise<void> {
    const values = postedArticleValues(form);
    const cut = this.articles.previewCut(values.body_md.slice(0, 500_000), values.lede);
    await this.renderer.sendFragment(reply, 'article-preview', articlePreview(values, cut));
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
    await this.renderer.send(
      reply,
      'article-form',
      {
        title: article ? t.editArticle : t.newArticle,
        section: 'articles',
        desk,
        notice,
      },
      {
        article,
        values,
        errors,
        action: article ? `/admin/articles/${article.id}` : '/admin/articles',
        preview: articlePreview(values, cut),
        publicUrl:
          article?.status === 'published' ? `${this.config.publicUrl}/articles/${article.slug}` : undefined,
      },
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
    const values = postedArticleValues(form);
    const action = postedArticleAction(form);
    const refuse = (errors: Record<string, string>): Promise<void> =>
      this.form(reply, desk, current, values, errors, 400);

    if (action === 'schedule') {
      const at = parsePublicationTime(values.publish_at, this.publication.current().timeZone);
      if (!at || at.getTime() <= Date.now()) {
        return refuse({ publish_at: this.renderer.t.timeInvalid });
      }
    }
    const checked = await checkForm(CreateArticleDto, articleInput(values));
    if (!checked.ok) return refuse(problemsByField(checked.problems, this.renderer.t));

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
      return refuse(formProblems(error, this.renderer.t));
    }
    await seeOther(reply, `/admin/articles/${article.id}?saved=1`);
  }
}
