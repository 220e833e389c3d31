import { asc, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ARTICLES_FOR_READERS, ArticlesForReaders } from '../src/articles/article-for-reader.js';
import { ArticlesRepository } from '../src/articles/articles.repository.js';
import { CommentsRepository } from '../src/comments/comments.repository.js';
import { articles, comments, subscribers } from '../src/database/schema.js';
import { publishedArticle } from './helpers/editions.js';
import { addMember } from './helpers/members.js';
import { startTestApp, type TestApp } from './helpers/test-app.js';

/*
 * An article page asks the database once, with a statement written by hand and kept prepared (on
 * PostgreSQL a named statement, on the embedded engine one parsed once), which pages asked together
 * share. What it reads must be exactly what the ORM reads, on both engines, and it must behave as
 * any other query does.
 */
describe("an article page's prepared statements", () => {
  let t: TestApp;
  let repository: ArticlesRepository;
  let article: { id: string; slug: string };
  let memberId: string;

  beforeAll(async () => {
    t = await startTestApp();
    repository = t.app.get(ArticlesRepository);
    article = await publishedArticle(t);
    memberId = await addMember(t, 'lectrice.requete@exemple.fr', 'premium');
  });
  afterAll(() => t.close());

  /** The columns of a row the page reads, as the ORM reads them: no more, no less. */
  const only = <Row extends object>(row: Row | undefined, like: object | undefined) =>
    row && like && Object.fromEntries(Object.keys(like).map((key) => [key, row[key as keyof Row]]));
  const ormArticle = async () =>
    (await t.database.db.select().from(articles).where(eq(articles.id, article.id)))[0];
  const ormSubscriber = async () =>
    (await t.database.db.select().from(subscribers).where(eq(subscribers.id, memberId)))[0];

  it('reads the article and its reader as the ORM reads them, dates, arrays and all', async () => {
    const read = await repository.findPublishedForReader(article.slug, memberId);
    expect(read).toEqual({
      article: only(await ormArticle(), read?.article),
      subscriber: only(await ormSubscriber(), read?.subscriber),
    });
    // What the page shows and decides by, and nothing it does not need (the Markdown source).
    expect(Object.keys(read?.article ?? {})).toEqual(
      expect.arrayContaining(['bodyHtml', 'teaserHtml', 'access', 'tags', 'publishedAt', 'updatedAt']),
    );
    expect(read?.article).not.toHaveProperty('bodyMd');
    expect(Object.keys(read?.subscriber ?? {})).toEqual(
      expect.arrayContaining(['id', 'tier', 'status', 'name', 'externalRef']),
    );
    expect(read?.article.publishedAt).toBeInstanceOf(Date);
    expect(Array.isArray(read?.article.tagSlugs)).toBe(true);
    // The same statement again (prepared by now), and without a reader.
    expect(await repository.findPublishedForReader(article.slug, undefined)).toEqual({
      article: read?.article,
      subscriber: undefined,
    });
  });

  it('reads a long article whole, as the ORM reads it', async () => {
    // Over 200 KB: the engine writes its answer in several pieces.
    const paragraph = 'Une phrase d’analyse, avec « guillemets » et accents : été, déjà, où. ';
    const created = await t.api('POST', '/api/articles', {
      title: 'Un très long dossier',
      body_md: Array.from({ length: 400 }, (_, i) => `${i} ${paragraph.repeat(8)}`).join('\n\n'),
      access: 'premium',
    });
    expect(created.statusCode).toBe(201);
    const long = created.json<{ id: string; slug: string }>();
    await t.api('POST', `/api/articles/${long.id}/publish`);
    const read = await repository.findPublishedForReader(long.slug, memberId);
    const [orm] = await t.database.db.select().from(articles).where(eq(articles.id, long.id));
    expect(orm!.bodyHtml.length).toBeGreaterThan(200_000);
    expect(read?.article).toEqual(only(orm, read?.article));
    expect(read?.subscriber?.id).toBe(memberId);
  });

  it('finds no article for an unknown slug or an unpublished one, and no reader for an unknown id', async () => {
    expect(await repository.findPublishedForReader('aucun-article-de-ce-nom', memberId)).toBeUndefined();
    const draft = (
      await t.api('POST', '/api/articles', { title: 'Brouillon', bodyMd: 'Pas encore.' })
    ).json();
    expect(await repository.findPublishedForReader(draft.slug as string, undefined)).toBeUndefined();
    const read = await repository.findPublishedForReader(
      article.slug,
      '00000000-0000-4000-8000-000000000000',
    );
    expect(read?.article.id).toBe(article.id);
    expect(read?.subscriber).toBeUndefined();
  });

  it('fails one call on a bad parameter and answers the next', async () => {
    await expect(repository.findPublishedForReader(article.slug, 'pas-un-uuid')).rejects.toThrow(/uuid/);
    expect((await repository.findPublishedForReader(article.slug, memberId))?.subscriber?.id).toBe(memberId);
  });

  /** The page statement as the repository runs it, each run's values and rows kept. */
  const watchedReads = () => {
    const runs: { values: readonly unknown[]; rows: readonly Record<string, unknown>[] }[] = [];
    const statement = t.database.prepared<Record<string, unknown>>(
      ARTICLES_FOR_READERS.name,
      ARTICLES_FOR_READERS.text,
    );
    const reads = new ArticlesForReaders(async (values) => {
      const rows = await statement(values);
      runs.push({ values, rows });
      return rows;
    });
    return { reads, runs };
  };

  it('answers pages asked together with one query, each with its own article and reader', async () => {
    const other = await publishedArticle(t);
    const draft = (
      await t.api('POST', '/api/articles', { title: 'Brouillon partagé', bodyMd: 'Non.' })
    ).json<{
      slug: string;
    }>();
    const questions: [string, string | undefined][] = [
      ['aucun-article-de-ce-nom', memberId],
      [other.slug, memberId],
      [draft.slug, undefined],
      [article.slug, undefined],
      [article.slug, memberId],
    ];
    const alone = [];
    for (const [slug, reader] of questions) alone.push(await repository.findPublishedForReader(slug, reader));
    const { reads, runs } = watchedReads();
    const together = await Promise.all(questions.map(([slug, reader]) => reads.find(slug, reader)));
    expect(runs).toHaveLength(1);
    expect(together).toEqual(alone);
    expect(together.map((read) => [read?.article.id, read?.subscriber?.id])).toEqual([
      [undefined, undefined],
      [other.id, memberId],
      [undefined, undefined],
      [article.id, undefined],
      [article.id, memberId],
    ]);
  });

  it('fails alone a page the database refuses, among pages asked with it', async () => {
    const { reads } = watchedReads();
    const [refused, answered, anyone] = await Promise.allSettled([
      reads.find(article.slug, 'pas-un-uuid'),
      reads.find(article.slug, memberId),
      reads.find(article.slug, undefined),
    ]);
    expect(refused).toMatchObject({
      status: 'rejected',
      reason: expect.objectContaining({ message: expect.stringMatching(/uuid/) }),
    });
    expect(answered).toMatchObject({ status: 'fulfilled', value: { subscriber: { id: memberId } } });
    expect(anyone).toMatchObject({
      status: 'fulfilled',
      value: { article: { id: article.id }, subscriber: undefined },
    });
  });

  it("sends an article's text once per version, and reads an edited or replaced one as it now is", async () => {
    const created = (
      await t.api('POST', '/api/articles', {
        title: 'Texte qui change',
        body_md: 'Première version, déjà lue.',
      })
    ).json<{ id: string; slug: string }>();
    await t.api('POST', `/api/articles/${created.id}/publish`);
    const { reads, runs } = watchedReads();
    const first = await reads.find(created.slug, undefined);
    expect(first?.article.bodyHtml).toContain('Première version');
    const again = await reads.find(created.slug, undefined);
    expect(again?.article).toEqual(first?.article);
    // The second time, the database was told which version is held and left its text out.
    expect(runs[1]?.values[2]).toEqual([created.id]);
    expect(runs[1]?.rows[0]?.['a.bodyHtml']).toBeNull();

    const edited = await t.api('PATCH', `/api/articles/${created.id}`, {
      body_md: 'Seconde version, corrigée.',
    });
    expect(edited.statusCode).toBe(200);
    const afterEdit = await reads.find(created.slug, undefined);
    expect(afterEdit?.article.bodyHtml).toContain('Seconde version');
    expect(afterEdit?.article.bodyHtml).not.toContain('Première version');

    // Another article under the same slug, the same millisecond's version or not: its own text.
    await t.database.db.delete(articles).where(eq(articles.id, created.id));
    const replacement = (
      await t.api('POST', '/api/articles', { title: 'Texte qui change', body_md: 'Un autre article.' })
    ).json<{ id: string; slug: string }>();
    expect(replacement.slug).toBe(created.slug);
    await t.api('POST', `/api/articles/${replacement.id}/publish`);
    await t.database.db
      .update(articles)
      .set({ updatedAt: afterEdit?.article.updatedAt })
      .where(eq(articles.id, replacement.id));
    expect((await reads.find(created.slug, undefined))?.article.bodyHtml).toContain('Un autre article');
  });

  it("never reads inside another caller's open transaction", async () => {
    const original = (await ormArticle())?.title;
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    let changed!: () => void;
    const titleChanged = new Promise<void>((resolve) => (changed = resolve));
    const transaction = t.database.db
      .transaction(async (tx) => {
        await tx.update(articles).set({ title: 'Titre jamais validé' }).where(eq(articles.id, article.id));
        changed();
        await held;
        throw new Error('rolled back');
      })
      .catch((error: unknown) => error);
    await titleChanged;
    // Asked while the transaction is open, before it rolls back.
    const read = repository.findPublishedForReader(article.slug, undefined);
    release();
    expect(await transaction).toEqual(new Error('rolled back'));
    expect((await read)?.article.title).toBe(original);
  });

  it("reads an article's shown comments as the ORM does, oldest first, approved only", async () => {
    const base = { articleId: article.id, subscriberId: memberId, authorName: 'Lectrice', bodyMd: 'Oui.' };
    const [first] = await t.database.db
      .insert(comments)
      .values({ ...base, bodyHtml: '<p>Oui.</p>', status: 'approved' })
      .returning();
    await t.database.db.insert(comments).values([
      { ...base, bodyHtml: '<p>Non.</p>', status: 'pending' },
      { ...base, parentId: first?.id, bodyHtml: '<p>Réponse.</p>', status: 'approved' },
    ]);
    const orm = await t.database.db
      .select()
      .from(comments)
      .where(eq(comments.status, 'approved'))
      .orderBy(asc(comments.createdAt), asc(comments.id));
    const shown = await t.app.get(CommentsRepository).shownOn(article.id);
    expect(shown).toEqual(orm);
    expect(shown).toHaveLength(2);
  });
});
