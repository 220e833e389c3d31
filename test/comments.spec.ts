import { load } from 'cheerio';
import { eq, sql } from 'drizzle-orm';
import type { Response as InjectResponse } from 'light-my-request';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { articles, comments, subscribers } from '../src/database/schema.js';
import { CANARY_MARK, sampleArticle } from './fixtures/sample-article.js';
import { DeskClient, OWNER } from './helpers/desk.js';
import { addMember, signedIn } from './helpers/members.js';
import { type SmtpSink, startSmtpSink } from './helpers/smtp-sink.js';
import { PUBLIC_URL, startTestApp, subscriberByEmail, type TestApp } from './helpers/test-app.js';
import { SubscriberTokens } from '../src/mail/subscriber-tokens.js';

let t: TestApp;
let sink: SmtpSink;
let desk: DeskClient;
/** Signed-in members' cookies: a free one and a premium one. */
let marie: string;
let paul: string;
let article: { id: string; slug: string };

const MARIE = 'marie.commente@exemple.fr';
const PAUL = 'paul.premium@exemple.fr';

async function published(overrides: Record<string, unknown> = {}): Promise<{ id: string; slug: string }> {
  const created = await t.api('POST', '/api/articles', sampleArticle({ access: 'premium', ...overrides }));
  expect(created.statusCode).toBe(201);
  expect((await t.api('POST', `/api/articles/${created.json().id}/publish`)).statusCode).toBe(200);
  return created.json();
}

function page(slug: string, cookie?: string, query = ''): Promise<InjectResponse> {
  return t.request({
    method: 'GET',
    url: `/articles/${slug}${query}`,
    headers: { accept: 'text/html', ...(cookie ? { cookie } : {}) },
  });
}

/** A comment sent from an article page, as the member's browser sends it. */
function comment(
  slug: string,
  cookie: string | undefined,
  fields: Record<string, string>,
  origin = PUBLIC_URL,
): Promise<InjectResponse> {
  return t.request({
    method: 'POST',
    url: `/articles/${slug}/comments`,
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      accept: 'text/html',
      origin,
      ...(cookie ? { cookie } : {}),
    },
    payload: new URLSearchParams(fields).toString(),
  });
}

async function storedComments(articleId: string) {
  return t.database.db.select().from(comments).where(eq(comments.articleId, articleId));
}

/** What an article page shows of its comments. */
function commentsOn(body: string) {
  const $ = load(body);
  return {
    heading: $('#comments-title').text(),
    texts: $('.comment__body')
      .map((_, element) => $(element).text().trim())
      .get(),
    authors: $('.comment__author')
      .map((_, element) => $(element).text())
      .get(),
    notice: $('#comments .notice').text(),
    closed: $('.comments__closed').text(),
    signIn: $('.comments__sign-in').text(),
    premiumOnly: $('.comments__premium').text(),
    form: $('#comment-form').length === 1,
    $,
  };
}

async function saveSettings(changes: Record<string, string>): Promise<void> {
  const settingsPage = load((await desk.get('/admin/settings')).body);
  const fields: Record<string, string> = {};
  settingsPage('form[action="/admin/settings"] [name]').each((_, element) => {
    const field = settingsPage(element);
    fields[field.attr('name') ?? ''] =
      element.tagName === 'textarea'
        ? field.text()
        : element.tagName === 'select'
          ? (field.find('option[selected]').attr('value') ?? '')
          : (field.attr('value') ?? '');
  });
  const saved = await desk.post('/admin/settings', { ...fields, ...changes });
  expect(saved.statusCode).toBe(303);
}

beforeAll(async () => {
  sink = await startSmtpSink();
  // A long page cache: a comment shown or hidden must clear it, not wait for it to expire.
  t = await startTestApp({ SMTP_URL: sink.url, PAGE_CACHE_SECONDS: '3600', SIGN_IN_RATE_LIMIT: '100/600' });
  desk = new DeskClient(t);
  expect((await desk.setUp()).statusCode).toBe(303);
  await addMember(t, MARIE, 'free');
  await addMember(t, PAUL, 'premium');
  marie = await signedIn(t, sink, MARIE);
  paul = await signedIn(t, sink, PAUL);
  article = await published();
});
afterAll(async () => {
  await t.close();
  await sink.close();
});

describe('comments held for moderation', () => {
  it('holds a member’s comment, tells the editors, and shows it once approved', async () => {
    // A stranger's copy of the page is in the shared cache before anyone comments.
    const before = commentsOn((await page(article.slug)).body);
    expect(before.heading).toBe('Commentaires (0)');
    expect(before.signIn).toBe('Connectez-vous pour commenter.');
    expect(before.form).toBe(false);

    const sent = await comment(article.slug, marie, {
      body: 'Très juste sur **Qaryatayn** : merci.\nUne seconde ligne.',
      name: 'Marie L.',
    });
    expect(sent.statusCode).toBe(303);
    expect(sent.headers.location).toBe(`${PUBLIC_URL}/articles/${article.slug}?comment=pending#comments`);
    const [held] = await storedComments(article.id);
    expect(held).toMatchObject({ status: 'pending', authorName: 'Marie L.', parentId: null });
    expect(held!.bodyHtml).toContain('<strong>Qaryatayn</strong>\u00a0: merci.<br />');

    const thanked = commentsOn((await page(article.slug, marie, '?comment=pending')).body);
    expect(thanked.notice).toBe('Merci ! Votre commentaire paraîtra après relecture.');
    expect(thanked.texts).toEqual([]);
    expect(commentsOn((await page(article.slug)).body).texts).toEqual([]);

    // The owner is told by email, with the way to the desk.
    const [notice] = await sink.waitFor(OWNER.email, 1);
    expect(notice!.parsed.subject).toContain('Nouveau commentaire sur');
    expect(notice!.parsed.text).toContain('Marie L. a commenté');
    expect(notice!.parsed.text).toContain('/admin/comments?status=pending');

    const list = load((await desk.get('/admin/comments')).body);
    expect(list('nav a[href="/admin/comments"]').text()).toContain('1 en attente');
    expect(list('.comment-item').text()).toContain(MARIE);
    const approved = await desk.submit('/admin/comments', `/admin/comments/${held!.id}/approve`, {
      filter: 'pending',
    });
    expect(approved.statusCode).toBe(303);

    const shown = commentsOn((await page(article.slug)).body);
    expect(shown.heading).toBe('Commentaires (1)');
    expect(shown.authors).toEqual(['Marie L.']);
    expect(shown.texts[0]).toContain('Qaryatayn');
    const home = load((await t.request({ method: 'GET', url: '/' })).body);
    expect(home(`a.card__comments[href$="/articles/${article.slug}#comments"]`).text()).toBe(
      'Commentaires (1)',
    );
  });

  it('hangs replies one level deep, under the comment answered', async () => {
    const [first] = (await storedComments(article.id)).filter((c) => c.status === 'approved');
    const reply = await comment(article.slug, paul, {
      body: 'Je ne suis pas d’accord.',
      name: 'Paul',
      parent: first!.id,
    });
    expect(reply.statusCode).toBe(303);
    const [paulsReply] = (await storedComments(article.id)).filter((c) => c.authorName === 'Paul');
    expect(paulsReply!.parentId).toBe(first!.id);
    await desk.submit('/admin/comments', `/admin/comments/${paulsReply!.id}/approve`, {});
    // Answering the reply answers the comment it hangs under.
    const deeper = await comment(article.slug, marie, {
      body: 'Et pourtant.',
      name: 'Marie L.',
      parent: paulsReply!.id,
    });
    expect(deeper.statusCode).toBe(303);
    const [third] = (await storedComments(article.id)).filter((c) => c.bodyMd === 'Et pourtant.');
    expect(third!.parentId).toBe(first!.id);

    const reader = commentsOn((await page(article.slug, paul, `?reply=${first!.id}`)).body);
    expect(reader.$('#comment-form h3').text()).toBe('Répondre à Marie L.');
    expect(reader.$('#comment-form input[name="parent"]').val()).toBe(first!.id);
    expect(reader.$(`#comment-${first!.id}`).parent().find('.comments__replies .comment').length).toBe(1);
  });
});

describe('what a comment may be', () => {
  it('refuses an empty comment in French beside its field, keeps what was typed, stores nothing', async () => {
    const count = (await storedComments(article.id)).length;
    const refused = await comment(article.slug, marie, { body: '   ', name: 'Marie « la lectrice »' });
    expect(refused.statusCode).toBe(400);
    const shown = commentsOn(refused.body);
    expect(shown.$('#comment-body-error').text()).toBe('Ce champ est obligatoire.');
    expect(shown.$('#comment-body').attr('aria-invalid')).toBe('true');
    expect(shown.$('#comment-name').val()).toBe('Marie « la lectrice »');
    const tooLong = await comment(article.slug, marie, { body: 'x'.repeat(5001), name: 'Marie' });
    expect(tooLong.statusCode).toBe(400);
    expect(commentsOn(tooLong.body).$('#comment-body-error').text()).toBe('5000 caractères au plus.');
    const badParent = await comment(article.slug, marie, { body: 'Oui', name: 'Marie', parent: 'pas-un-id' });
    expect(badParent.statusCode).toBe(400);
    const otherArticle = await published({ title: 'Irak : Mossoul', slug: 'mossoul-commentaires' });
    const elsewhere = (await storedComments(article.id))[0]!;
    const strayReply = await comment(otherArticle.slug, marie, {
      body: 'Oui',
      name: 'Marie',
      parent: elsewhere.id,
    });
    expect(strayReply.statusCode).toBe(400);
    expect(commentsOn(strayReply.body).$('.form-error').text()).toBe(
      'Ce commentaire ne peut plus recevoir de réponse.',
    );
    expect((await storedComments(article.id)).length).toBe(count);
    expect(await storedComments(otherArticle.id)).toEqual([]);
  });

  it('keeps the Markdown subset and drops scripts, images and raw HTML', async () => {
    const sent = await comment(article.slug, paul, {
      body: '<script>alert(1)</script># Titre\n\n![x](https://evil.example/x.png) [source](https://exemple.fr) <img src=x onerror=alert(1)> `code`',
      name: 'Paul',
    });
    expect(sent.statusCode).toBe(303);
    const [stored] = (await storedComments(article.id)).filter((c) => c.bodyMd.includes('source'));
    expect(stored!.bodyHtml).not.toMatch(/<script|<img|<h1|onerror|alert/);
    expect(stored!.bodyHtml).toContain('<a href="https://exemple.fr" rel="ugc nofollow noopener">source</a>');
    expect(stored!.bodyHtml).toContain('<code>code</code>');
  });

  it('takes nothing from a robot that fills the hidden field, and says the same as to a person', async () => {
    const count = (await storedComments(article.id)).length;
    const trapped = await comment(article.slug, marie, {
      body: 'Achetez !',
      name: 'Bot',
      website: 'https://spam.example',
    });
    expect(trapped.statusCode).toBe(303);
    expect(trapped.headers.location).toContain('?comment=pending');
    expect((await storedComments(article.id)).length).toBe(count);
  });

  it('refuses strangers, other sites’ forms, and a flood from one member', async () => {
    const count = (await storedComments(article.id)).length;
    const stranger = await comment(article.slug, undefined, { body: 'Anonyme', name: 'X' });
    expect(stranger.statusCode).toBe(401);
    expect(commentsOn(stranger.body).notice).toBe('Connectez-vous pour commenter.');
    const forged = await comment(article.slug, marie, { body: 'Forgé', name: 'X' }, 'https://evil.example');
    expect(forged.statusCode).toBe(403);
    expect((await storedComments(article.id)).length).toBe(count);

    const flood = await published({ title: 'Flot', slug: 'flot-de-commentaires' });
    const statuses: number[] = [];
    for (let n = 0; n < 7; n++)
      statuses.push(
        (await comment(flood.slug, marie, { body: `Commentaire ${n}`, name: 'Marie' })).statusCode,
      );
    // Marie sent three before on the first article: five in ten minutes, then a polite no.
    expect(statuses.filter((status) => status === 303).length).toBeLessThan(7);
    expect(statuses.at(-1)).toBe(429);
  });
});

describe('when comments close', () => {
  it('closes one article’s comments from the API, keeping those written', async () => {
    const closed = await published({ title: 'Fermé', slug: 'article-ferme' });
    expect((await comment(closed.slug, paul, { body: 'Avant', name: 'Paul' })).statusCode).toBe(303);
    const patched = await t.api('PATCH', `/api/articles/${closed.id}`, { comments_closed: true });
    expect(patched.statusCode).toBe(200);
    expect(patched.json().comments_closed).toBe(true);
    const shown = commentsOn((await page(closed.slug, paul)).body);
    expect(shown.closed).toBe('Les commentaires sont fermés.');
    expect(shown.form).toBe(false);
    const refused = await comment(closed.slug, paul, { body: 'Après', name: 'Paul' });
    expect(refused.statusCode).toBe(403);
    expect((await storedComments(closed.id)).map((c) => c.bodyMd)).toEqual(['Avant']);
    expect((await t.api('PATCH', `/api/articles/${closed.id}`, { comments_closed: 'oui' })).statusCode).toBe(
      400,
    );
  });

  it('closes every article N days after it was published, and opens comments to premium only', async () => {
    const old = await published({ title: 'Ancien', slug: 'article-ancien' });
    await t.database.db
      .update(articles)
      .set({ publishedAt: sql`now() - interval '3 days'` })
      .where(eq(articles.id, old.id));
    await saveSettings({ comments_close_after_days: '2', comments: 'premium' });
    expect((await comment(old.slug, paul, { body: 'Trop tard', name: 'Paul' })).statusCode).toBe(403);
    expect(commentsOn((await page(old.slug, paul)).body).closed).toBe('Les commentaires sont fermés.');
    const fresh = await published({ title: 'Récent', slug: 'article-recent' });
    const free = await comment(fresh.slug, marie, { body: 'Gratuit', name: 'Marie' });
    expect(free.statusCode).toBe(403);
    expect(commentsOn((await page(fresh.slug, marie)).body).premiumOnly).toBe(
      'Les commentaires sont réservés aux abonnés premium.',
    );
    expect((await comment(fresh.slug, paul, { body: 'Premium', name: 'Paul' })).statusCode).toBe(303);

    await saveSettings({ comments: 'off' });
    const off = commentsOn((await page(fresh.slug, paul)).body);
    expect(off.$('#comments').length).toBe(0);
    expect(load((await t.request({ method: 'GET', url: '/' })).body)('.card__comments').length).toBe(0);
    expect((await comment(fresh.slug, paul, { body: 'Encore', name: 'Paul' })).statusCode).toBe(403);

    const refused = await desk.submit('/admin/settings', '/admin/settings', {});
    expect(refused.statusCode).toBe(400);
    await saveSettings({ comments: 'all', comments_close_after_days: '0' });
  });
});

describe('moderation after publication', () => {
  it('shows a comment at once, and an editor hides or deletes it', async () => {
    await saveSettings({ comment_moderation: 'post' });
    const open = await published({ title: 'Ouvert', slug: 'article-ouvert' });
    const sent = await comment(open.slug, paul, { body: 'Publié tout de suite', name: 'Paul' });
    const [stored] = await storedComments(open.id);
    expect(sent.headers.location).toBe(
      `${PUBLIC_URL}/articles/${open.slug}?comment=approved#comment-${stored!.id}`,
    );
    expect(commentsOn((await page(open.slug)).body).texts).toEqual(['Publié tout de suite']);
    await desk.submit('/admin/comments?status=approved', `/admin/comments/${stored!.id}/hide`, {
      filter: 'approved',
    });
    expect(commentsOn((await page(open.slug)).body).texts).toEqual([]);
    const deleted = await desk.submit(
      '/admin/comments?status=hidden',
      `/admin/comments/${stored!.id}/delete`,
      {},
    );
    expect(deleted.statusCode).toBe(303);
    expect(await storedComments(open.id)).toEqual([]);
    const gone = await desk.submit('/admin/comments', `/admin/comments/${stored!.id}/delete`, {});
    expect(gone.statusCode).toBe(404);
    expect(gone.body).toContain('Ce commentaire n’existe plus.');
    await saveSettings({ comment_moderation: 'pre' });
  });
});

describe('one article version read by many readers', () => {
  /*
   * A member's page is rendered once per article version and kind of reader, then filled at each
   * request with what is that reader's own: the text as the gate gives it, the comments, the name
   * their form starts with. Parts are kept an hour here (PAGE_CACHE_SECONDS): nothing of one
   * reader's may reach another's page, and what changes must show at once.
   */
  const nameIn = (body: string) => load(body)('#comment-name').attr('value');

  it('gives each reader their own text and name, in any order, again and again', async () => {
    await t.database.db
      .update(subscribers)
      .set({ name: 'Marie <b>"la libre"</b>' })
      .where(eq(subscribers.email, MARIE));
    await t.database.db.update(subscribers).set({ name: 'Paul & fils' }).where(eq(subscribers.email, PAUL));
    const read = await published({ title: 'Lu par tous', slug: 'lu-par-tous' });
    for (let round = 0; round < 2; round += 1) {
      const pauls = await page(read.slug, paul);
      expect(pauls.body).toContain(CANARY_MARK);
      expect(nameIn(pauls.body)).toBe('Paul & fils');
      expect(load(pauls.body)('.paywall').length).toBe(0);
      const maries = await page(read.slug, marie);
      expect(maries.body).not.toContain(CANARY_MARK);
      expect(maries.body).not.toContain('<b>');
      expect(nameIn(maries.body)).toBe('Marie <b>"la libre"</b>');
      expect(load(maries.body)('.paywall--upgrade').length).toBe(1);
      const strangers = await page(read.slug);
      expect(strangers.body).not.toContain(CANARY_MARK);
      expect(strangers.body).not.toContain('Paul & fils');
      expect(commentsOn(strangers.body).form).toBe(false);
      expect(commentsOn(strangers.body).signIn).not.toBe('');
    }
  });

  it('shows a new comment, a new name and a new offer on the next page', async () => {
    const read = await published({ title: 'Lu et commenté', slug: 'lu-et-commente' });
    const before = commentsOn((await page(read.slug, marie)).body);
    expect(before.heading).toBe('Commentaires (0)');

    await saveSettings({ comment_moderation: 'post' });
    // A member who has written nothing yet: Paul has used up his comments for the hour.
    await addMember(t, 'lise.commente@exemple.fr', 'premium');
    const lise = await signedIn(t, sink, 'lise.commente@exemple.fr');
    expect((await comment(read.slug, lise, { body: 'Tout de suite', name: 'Lise' })).statusCode).toBe(303);
    const after = commentsOn((await page(read.slug, marie)).body);
    expect(after.texts).toEqual(['Tout de suite']);
    expect(after.heading).toBe('Commentaires (1)');
    expect(after.$('.article a[href="#comments"]').text()).toBe('Commentaires (1)');
    expect(after.$('#comment-name').attr('value')).toBe('Marie <b>"la libre"</b>');
    await saveSettings({ comment_moderation: 'pre' });

    const name = load((await desk.get('/admin/settings')).body)('input[name="name"]').attr('value') ?? '';
    await saveSettings({ name: 'Les Carnets du Levant' });
    expect(load((await page(read.slug, paul)).body)('title').text()).toContain('Les Carnets du Levant');
    await saveSettings({ name });

    // Marie's page made (and kept) with the offer as it was, then the offer changed.
    expect(load((await page(read.slug, marie)).body)('.paywall__benefits li').length).toBeGreaterThan(0);
    const offer = await desk.submit('/admin/payments', '/admin/payments/offer', {
      offer: 'Une carte inédite chaque semaine',
    });
    expect(offer.statusCode).toBe(303);
    expect(
      load((await page(read.slug, marie)).body)('.paywall__benefits li')
        .first()
        .text(),
    ).toBe('Une carte inédite chaque semaine');
  });
});

describe('a member’s comments and their data', () => {
  it('exports them, and on erasure removes them, or their text where others answered', async () => {
    const email = 'lea.efface@exemple.fr';
    const id = await addMember(t, email, 'premium');
    const lea = await signedIn(t, sink, email);
    // Another member answers: Paul has said all the rate limit lets him say for ten minutes.
    await addMember(t, 'jean.repond@exemple.fr', 'free');
    const jean = await signedIn(t, sink, 'jean.repond@exemple.fr');
    await saveSettings({ comment_moderation: 'post' });
    const topic = await published({ title: 'Effacement', slug: 'article-effacement' });
    await comment(topic.slug, lea, { body: 'Sans réponse', name: 'Léa' });
    await comment(topic.slug, lea, { body: 'Avec réponse', name: 'Léa' });
    const answered = (await storedComments(topic.id)).find((c) => c.bodyMd === 'Avec réponse')!;
    const answer = await comment(topic.slug, jean, {
      body: 'Réponse de Jean',
      name: 'Jean',
      parent: answered.id,
    });
    expect(answer.statusCode).toBe(303);
    await saveSettings({ comment_moderation: 'pre' });

    // The member's download holds what they wrote, replies' targets and all.
    const manage = t.app.get(SubscriberTokens).manageToken(id);
    const exported = await t.request({ method: 'GET', url: `/preferences/${manage}/export` });
    expect(exported.statusCode).toBe(200);
    expect(exported.json().comments).toEqual([
      expect.objectContaining({
        article: 'Effacement',
        name: 'Léa',
        text: 'Sans réponse',
        status: 'approved',
      }),
      expect.objectContaining({
        text: 'Avec réponse',
        url: expect.stringContaining(`#comment-${answered.id}`),
      }),
    ]);
    // The same erasure the preferences page's button makes.
    const erased = await t.request({ method: 'POST', url: `/preferences/${manage}/erase` });
    expect(erased.statusCode).toBeLessThan(400);
    expect(await subscriberByEmail(t, email)).toBeUndefined();
    const left = await storedComments(topic.id);
    expect(left.map((c) => c.bodyMd).sort()).toEqual(['', 'Réponse de Jean']);
    expect(left.find((c) => c.bodyMd === '')).toMatchObject({ subscriberId: null, authorName: '' });
    const shown = commentsOn((await page(topic.slug)).body);
    expect(shown.heading).toBe('Commentaires (1)');
    expect(shown.$('.comment__erased').text()).toBe('Commentaire supprimé.');
    expect(shown.texts).toEqual(['Réponse de Jean']);
    expect(shown.$('#comments').text()).not.toContain('Léa');
  });
});
