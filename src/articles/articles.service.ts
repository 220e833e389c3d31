import {
  ConflictException,
  Inject,
  Injectable,
  Logger,
  NotFoundException,
  type OnApplicationBootstrap,
} from '@nestjs/common';
import type { AppConfig } from '../config/app-config.js';
import { APP_CONFIG } from '../config/config.module.js';
import { PublicationSettings } from '../settings/publication-settings.js';
import { imagesWithoutAlt, renderMarkdown } from '../content/markdown.js';
import { cutTeaser } from '../content/teaser.js';
import type { ArticleRow, ArticleStatus, NewArticleRow } from '../database/schema.js';
import { FieldConflictException, InvalidInputException } from '../http/api-error.js';
import { parsePublicationTime } from '../lib/publication-time.js';
import { slugify } from '../lib/slug.js';
import {
  ARTICLE_SLUG_CONSTRAINT,
  ArticlesRepository,
  isUniqueViolation,
  type Page,
} from './articles.repository.js';
import type { CreateArticleDto, UpdateArticleDto } from './dto/article-input.dto.js';

const FALLBACK_SLUG = 'article';

/** Tags as the editor wrote them, trimmed, without duplicates that would share a URL. */
function normaliseTags(tags: readonly string[]): { tags: string[]; tagSlugs: string[] } {
  const bySlug = new Map<string, string>();
  for (const tag of tags) {
    const name = tag.trim().replace(/\s+/g, ' ');
    const slug = slugify(name);
    if (slug !== '' && !bySlug.has(slug)) bySlug.set(slug, name);
  }
  return { tags: [...bySlug.values()], tagSlugs: [...bySlug.keys()] };
}

@Injectable()
export class ArticlesService implements OnApplicationBootstrap {
  private readonly logger = new Logger('Articles');

  constructor(
    @Inject(ArticlesRepository) private readonly repository: ArticlesRepository,
    @Inject(PublicationSettings) private readonly publication: PublicationSettings,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  /** Articles written before search existed are indexed once, after the boot, not during it. */
  onApplicationBootstrap(): void {
    void this.repository.indexUnindexed().then(
      (indexed) => {
        if (indexed > 0) this.logger.log({ indexed }, 'Articles indexed for search');
      },
      (error: unknown) => {
        this.logger.warn(`Articles could not be indexed for search: ${(error as Error).message}`);
      },
    );
  }

  /** The stored HTML forms of a body: the whole, and the public part before the cut. */
  private renderBody(bodyMd: string, lede: string): Pick<NewArticleRow, 'bodyHtml' | 'teaserHtml'> {
    // Readers who cannot see an image are told what it shows: the editor writes it, always.
    const missing = imagesWithoutAlt(bodyMd);
    if (missing > 0)
      throw InvalidInputException.field(
        'body_md',
        `${missing} image(s) without a description: write it between the brackets, ![like this](…)`,
        'image-alt',
      );
    const cut = cutTeaser(bodyMd, lede, this.config.teaserWords);
    const { locale } = this.publication.current();
    return { bodyHtml: renderMarkdown(bodyMd, locale), teaserHtml: renderMarkdown(cut.teaserMd, locale) };
  }

  /** For the editor's preview: the body on either side of the cut, as the article would store it. */
  previewCut(bodyMd: string, lede: string): { teaserHtml: string; restHtml: string; marked: boolean } {
    const cut = cutTeaser(bodyMd, lede, this.config.teaserWords);
    const { locale } = this.publication.current();
    return {
      teaserHtml: renderMarkdown(cut.teaserMd, locale),
      restHtml: renderMarkdown(cut.restMd, locale),
      marked: cut.marked,
    };
  }

  private async freeSlug(title: string, exceptId?: string): Promise<string> {
    const base = slugify(title) || FALLBACK_SLUG;
    const taken = await this.repository.slugsLike(base, exceptId);
    if (!taken.has(base)) return base;
    for (let n = 2; ; n += 1) {
      const candidate = `${base}-${n}`;
      if (!taken.has(candidate)) return candidate;
    }
  }

  /** Runs a write, turning a slug collision (explicit, or lost race) into a 409 that names the field. */
  private async writing<T>(slug: string, write: () => Promise<T>): Promise<T> {
    try {
      return await write();
    } catch (error) {
      if (isUniqueViolation(error, ARTICLE_SLUG_CONSTRAINT)) {
        throw new FieldConflictException('slug', `"${slug}" is already used by another article`);
      }
      throw error;
    }
  }

  create(input: CreateArticleDto): Promise<ArticleRow> {
    return this.insert(input, {});
  }

  /**
   * An article brought from another publication, published at its original date (or a draft):
   * marked as announced already, so that no edition goes out for the past.
   */
  importArticle(input: CreateArticleDto, publishedAt: Date | undefined): Promise<ArticleRow> {
    return this.insert(
      input,
      publishedAt ? { status: 'published', publishedAt, announcedAt: publishedAt } : { status: 'draft' },
    );
  }

  private async insert(
    input: CreateArticleDto,
    state: Pick<NewArticleRow, 'status' | 'publishedAt' | 'announcedAt'>,
  ): Promise<ArticleRow> {
    const lede = input.lede?.trim() ?? '';
    const slug = input.slug ?? (await this.freeSlug(input.title));
    const row: NewArticleRow = {
      slug,
      title: input.title.trim(),
      lede,
      bodyMd: input.body_md,
      ...this.renderBody(input.body_md, lede),
      ...normaliseTags(input.tags ?? []),
      access: input.access ?? 'premium',
      author: input.author?.trim() ?? '',
      commentsClosed: input.comments_closed ?? false,
      ...state,
    };
    return this.writing(slug, () => this.repository.insert(row));
  }

  async get(id: string): Promise<ArticleRow> {
    const row = await this.repository.findById(id);
    if (!row) throw new NotFoundException(`No article with id ${id}`);
    return row;
  }

  async update(id: string, input: UpdateArticleDto): Promise<ArticleRow> {
    const current = await this.get(id);
    const patch: Partial<NewArticleRow> = {};
    if (input.title !== undefined) patch.title = input.title.trim();
    if (input.slug !== undefined) patch.slug = input.slug;
    if (input.lede !== undefined) patch.lede = input.lede.trim();
    if (input.body_md !== undefined) patch.bodyMd = input.body_md;
    if (input.tags !== undefined) Object.assign(patch, normaliseTags(input.tags));
    if (input.access !== undefined) patch.access = input.access;
    if (input.author !== undefined) patch.author = input.author.trim();
    if (input.comments_closed !== undefined) patch.commentsClosed = input.comments_closed;
    if (input.body_md !== undefined || input.lede !== undefined) {
      Object.assign(patch, this.renderBody(patch.bodyMd ?? current.bodyMd, patch.lede ?? current.lede));
    }
    const updated = await this.writing(patch.slug ?? current.slug, () => this.repository.update(id, patch));
    if (!updated) throw new NotFoundException(`No article with id ${id}`);
    return updated;
  }

  async delete(id: string): Promise<void> {
    if (!(await this.repository.delete(id))) throw new NotFoundException(`No article with id ${id}`);
  }

  list(query: { status?: ArticleStatus; page: number; limit: number }): Promise<Page<ArticleRow>> {
    return this.repository.listForEditors({
      status: query.status,
      limit: query.limit,
      offset: (query.page - 1) * query.limit,
    });
  }

  async publishNow(id: string): Promise<ArticleRow> {
    await this.get(id);
    return this.transition(id, { status: 'published', publishedAt: new Date(), publishAt: null });
  }

  async schedule(id: string, publishAtInput: string): Promise<ArticleRow> {
    const publishAt = parsePublicationTime(publishAtInput, this.publication.current().timeZone);
    if (!publishAt) {
      throw InvalidInputException.field(
        'publish_at',
        `"${publishAtInput}" is not an ISO 8601 date-time such as 2026-12-01T18:00 or 2026-12-01T17:00:00Z`,
        'date-time',
      );
    }
    if (publishAt.getTime() <= Date.now()) {
      throw InvalidInputException.field(
        'publish_at',
        'must be in the future; publish now with POST …/publish',
        'future',
      );
    }
    const current = await this.get(id);
    if (current.status === 'published') {
      throw new ConflictException('The article is already published; unpublish it before scheduling it');
    }
    return this.transition(id, { status: 'scheduled', publishAt, publishedAt: null });
  }

  async unpublish(id: string): Promise<ArticleRow> {
    await this.get(id);
    return this.transition(id, { status: 'draft', publishAt: null, publishedAt: null });
  }

  private async transition(id: string, patch: Partial<NewArticleRow>): Promise<ArticleRow> {
    const updated = await this.repository.update(id, patch);
    if (!updated) throw new NotFoundException(`No article with id ${id}`);
    return updated;
  }

  /** Called by the scheduler tick. */
  publishDue(now: Date = new Date()): Promise<Pick<ArticleRow, 'id' | 'slug'>[]> {
    return this.repository.publishDue(now);
  }
}
