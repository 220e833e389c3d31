import { count, eq } from 'drizzle-orm';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiTokens, articles, editors, subscribers } from '../src/database/schema.js';
import { SessionStore } from '../src/admin/session-store.js';
import { csrfOf, DeskClient, OWNER } from './helpers/desk.js';
import { startTestApp, type TestApp } from './helpers/test-app.js';
import { load } from 'cheerio';

async function editorCount(t: TestApp): Promise<number> {
  const [row] = await t.database.db.select({ n: count() }).from(editors);
  return row?.n ?? 0;
}

async function articleCount(t: TestApp): Promise<number> {
  const [row] = await t.database.db.select({ n: count() }).from(articles);
  return row?.n ?? 0;
}

describe('the first-run setup', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(async () => {
    await t.close();
  });

  it('sends everyone to the setup while no editor exists', async () => {
    const desk = new DeskClient(t);
    const home = await desk.get('/admin');
    expect(home.statusCode).toBe(303);
    expect(home.headers.location).toMatch(/^\/admin\/sign-in\?next=%2Fadmin/);
    const signIn = await desk.get('/admin/sign-in');
    expect(signIn.statusCode).toBe(303);
    expect(signIn.headers.location).toBe('/admin/setup');
  });

  it('refuses bad input field by field, and a form without its token, creating nobody', async () => {
    const desk = new DeskClient(t);
    const bad = await desk.submit('/admin/setup', '/admin/setup', {
      email: 'pas-une-adresse',
      name: 'Line\nBreak',
      password: 'court',
      password_again: 'court',
    });
    expect(bad.statusCode).toBe(400);
    const page = load(bad.body);
    expect(page('.field-error').length).toBe(3);
    expect(page('input[name="email"]').attr('value')).toBe('pas-une-adresse');
    const mismatch = await desk.submit('/admin/setup', '/admin/setup', {
      email: OWNER.email,
      name: '',
      password: OWNER.password,
      password_again: `${OWNER.password}!`,
    });
    expect(mismatch.statusCode).toBe(400);
    expect(load(mismatch.body)('.field-error').text()).toBe('Les deux mots de passe diffèrent.');
    const forged = await new DeskClient(t).post('/admin/setup', {
      _csrf: 'x'.repeat(43),
      email: OWNER.email,
      password: OWNER.password,
      password_again: OWNER.password,
    });
    expect(forged.statusCode).toBe(403);
    expect(await editorCount(t)).toBe(0);
  });

  it('creates one owner with an argon2id hash and a session, even when two setups race', async () => {
    const [a, b] = [new DeskClient(t), new DeskClient(t)];
    const tokens = await Promise.all([a.get('/admin/setup'), b.get('/admin/setup')]);
    const fields = {
      email: OWNER.email,
      name: OWNER.name,
      password: OWNER.password,
      password_again: OWNER.password,
    };
    const [first, second] = await Promise.all([
      a.post('/admin/setup', { _csrf: csrfOf(tokens[0].body), ...fields }),
      b.post('/admin/setup', { _csrf: csrfOf(tokens[1].body), ...fields, email: 'autre@exemple.fr' }),
    ]);
    expect([first.headers.location, second.headers.location].sort()).toEqual(['/admin', '/admin/sign-in']);
    expect(await editorCount(t)).toBe(1);
    const [owner] = await t.database.db.select().from(editors);
    expect(owner?.role).toBe('owner');
    expect(owner?.passwordHash).toMatch(/^\$argon2id\$/);
    expect(owner?.passwordHash).not.toContain(OWNER.password);
    // Setting up is the owner's first sign-in: the team page says when, not "jamais".
    expect(owner?.lastSignInAt).toBeInstanceOf(Date);

    const winner = first.headers.location === '/admin' ? first : second;
    const cookie = winner.cookies.find((c) => c.name === 'depeche_session');
    expect(cookie).toMatchObject({ httpOnly: true, sameSite: 'Lax', secure: true, path: '/admin' });
    const again = await new DeskClient(t).get('/admin/setup');
    expect(again.headers.location).toBe('/admin/sign-in');
  });
});

describe('signing in and out', () => {
  let t: TestApp;
  let redis: Redis;
  beforeAll(async () => {
    t = await startTestApp();
    redis = new Redis(t.config.redisUrl);
    await new DeskClient(t).setUp();
  });
  afterAll(async () => {
    redis.disconnect();
    await t.close();
  });

  it('refuses a wrong password and an unknown address alike, without a session', async () => {
    for (const [email, password] of [
      [OWNER.email, 'wrong password!!'],
      ['nobody@exemple.fr', OWNER.password],
    ] as const) {
      const desk = new DeskClient(t);
      const refused = await desk.signIn(email, password);
      expect(refused.statusCode).toBe(401);
      expect(load(refused.body)('[role="alert"]').text()).toContain('incorrect');
      expect(desk.jar.values.has('depeche_session')).toBe(false);
      expect((await desk.get('/admin')).statusCode).toBe(303);
    }
  });

  it('signs in, goes back to the page asked for, and signs out everywhere', async () => {
    const desk = new DeskClient(t);
    const asked = await desk.get('/admin/editions');
    expect(asked.headers.location).toContain('next=%2Fadmin%2Feditions');
    const page = await desk.get(asked.headers.location as string);
    const signedIn = await desk.post('/admin/sign-in', {
      _csrf: csrfOf(page.body),
      email: OWNER.email.toUpperCase(),
      password: OWNER.password,
      next: '/admin/editions',
    });
    expect(signedIn.statusCode).toBe(303);
    expect(signedIn.headers.location).toBe('/admin/editions');
    const dashboard = await desk.get('/admin');
    expect(dashboard.statusCode).toBe(200);
    expect(dashboard.body).toContain(OWNER.name);

    const stolen = desk.jar.header();
    const out = await desk.post('/admin/sign-out', { _csrf: csrfOf(dashboard.body) });
    expect(out.headers.location).toBe('/admin/sign-in?signed-out=1');
    const replay = await t.request({ method: 'GET', url: '/admin', headers: { cookie: stolen } });
    expect(replay.statusCode).toBe(303);
  });

  it('never redirects off the desk after sign-in', async () => {
    const desk = new DeskClient(t);
    const page = await desk.get('/admin/sign-in');
    const signedIn = await desk.post('/admin/sign-in', {
      _csrf: csrfOf(page.body),
      email: OWNER.email,
      password: OWNER.password,
      next: '//evil.example/admin',
    });
    expect(signedIn.headers.location).toBe('/admin');
    const again = await desk.get('/admin/sign-in');
    expect(again.statusCode).toBe(303);
    const page2 = await new DeskClient(t).get('/admin/sign-in');
    const other = new DeskClient(t);
    other.jar.take(page2);
    const broken = await other.post('/admin/sign-in', {
      _csrf: csrfOf(page2.body),
      email: OWNER.email,
      password: OWNER.password,
      next: '/admin/articles\r\nSet-Cookie: x=y',
    });
    expect(broken.statusCode).toBe(303);
    expect(broken.headers.location).toBe('/admin');
  });

  it('refuses a sign-in form without its token', async () => {
    const desk = new DeskClient(t);
    await desk.get('/admin/sign-in');
    const refused = await desk.post('/admin/sign-in', { email: OWNER.email, password: OWNER.password });
    expect(refused.statusCode).toBe(403);
    expect(desk.jar.values.has('depeche_session')).toBe(false);
  });

  it('refuses an expired session: pages go to the sign-in, forms are refused', async () => {
    const desk = new DeskClient(t);
    await desk.signIn();
    const editorPage = await desk.get('/admin/articles/new');
    const sessionId = desk.jar.values.get('depeche_session') ?? '';
    await redis.del(t.app.get(SessionStore).key(sessionId));
    const page = await desk.get('/admin/articles');
    expect(page.statusCode).toBe(303);
    expect(page.headers.location).toContain('expired=1');
    expect((await desk.get(page.headers.location as string)).body).toContain('expiré');
    const before = await articleCount(t);
    const post = await desk.post('/admin/articles', {
      _csrf: csrfOf(editorPage.body),
      title: 'Perdu',
      body_md: 'x',
    });
    expect(post.statusCode).toBe(401);
    const htmx = await desk.post('/admin/articles/preview', { body_md: 'x' }, { 'hx-request': 'true' });
    expect(htmx.statusCode).toBe(401);
    expect(htmx.headers['hx-redirect']).toMatch(/^\/admin\/sign-in/);
    expect(await articleCount(t)).toBe(before);
  });
});

describe('the sign-in limit', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ SIGN_IN_RATE_LIMIT: '4/600' });
    await new DeskClient(t).setUp();
  });
  afterAll(async () => {
    await t.close();
  });

  it('answers 429 past the limit, even to the right password', async () => {
    const desk = new DeskClient(t);
    const statuses: number[] = [];
    for (let i = 0; i < 4; i += 1)
      statuses.push((await desk.signIn(OWNER.email, 'guess guess guess')).statusCode);
    const right = await desk.signIn();
    expect(statuses).toEqual([401, 401, 401, 401]);
    expect(right.statusCode).toBe(429);
    expect(Number(right.headers['retry-after'])).toBeGreaterThan(0);
    expect(desk.jar.values.has('depeche_session')).toBe(false);
  });
});

describe('forms on the desk', () => {
  let t: TestApp;
  let desk: DeskClient;
  beforeAll(async () => {
    t = await startTestApp();
    desk = new DeskClient(t);
    await desk.setUp();
  });
  afterAll(async () => {
    await t.close();
  });

  it('refuses a post without the CSRF token, or with another session’s, and writes nothing', async () => {
    const before = await articleCount(t);
    const missing = await desk.post('/admin/articles', { title: 'Sans jeton', body_md: 'x' });
    expect(missing.statusCode).toBe(403);
    expect(missing.body).toContain('CSRF');
    const wrong = await desk.post('/admin/articles', {
      _csrf: 'A'.repeat(43),
      title: 'Mauvais jeton',
      body_md: 'x',
    });
    expect(wrong.statusCode).toBe(403);
    expect(await articleCount(t)).toBe(before);
    const good = await desk.submit('/admin/articles/new', '/admin/articles', {
      title: 'Avec jeton',
      body_md: 'Texte.',
      access: 'premium',
      action: 'save',
    });
    expect(good.statusCode).toBe(303);
    expect(await articleCount(t)).toBe(before + 1);
  });

  it('shows the article form again with the problem beside the field, and stores nothing', async () => {
    const before = await articleCount(t);
    const refused = await desk.submit('/admin/articles/new', '/admin/articles', {
      title: 'Mauvaise adresse',
      slug: 'Pas Un Slug',
      body_md: 'Texte gardé.',
      action: 'save',
    });
    expect(refused.statusCode).toBe(400);
    const page = load(refused.body);
    expect(page('.field-error').text()).toContain('Des minuscules et des chiffres séparés par des tirets');
    expect(page('textarea[name="body_md"]').text()).toBe('Texte gardé.');
    const past = await desk.submit('/admin/articles/new', '/admin/articles', {
      title: 'Dans le passé',
      body_md: 'x',
      publish_at: '2001-01-01T10:00',
      action: 'schedule',
    });
    expect(past.statusCode).toBe(400);
    expect(await articleCount(t)).toBe(before);
  });

  it('publishes from the desk, and a later edit shows on the public page at once', async () => {
    const published = await desk.submit('/admin/articles/new', '/admin/articles', {
      title: 'Publié depuis la rédaction',
      body_md: 'Premier état.',
      access: 'public',
      action: 'publish',
    });
    expect(published.statusCode).toBe(303);
    const editUrl = (published.headers.location as string).replace('?saved=1', '');
    // A published article is updated, not published again.
    expect(load((await desk.get(editUrl)).body)('button[value="publish"]').text()).toBe('Mettre à jour');
    const [article] = await t.database.db
      .select()
      .from(articles)
      .where(eq(articles.title, 'Publié depuis la rédaction'));
    expect(article?.status).toBe('published');
    const first = await t.request({ method: 'GET', url: `/articles/${article?.slug}` });
    expect(first.body).toContain('Premier état.');
    const edited = await desk.submit(editUrl, editUrl, {
      title: 'Publié depuis la rédaction',
      body_md: 'Second état.',
      access: 'public',
      action: 'save',
    });
    expect(edited.statusCode).toBe(303);
    const second = await t.request({ method: 'GET', url: `/articles/${article?.slug}` });
    expect(second.body).toContain('Second état.');
  });

  it('previews the cut as the editor types, hiding nothing from the editor', async () => {
    const page = await desk.get('/admin/articles/new');
    const preview = await desk.post(
      '/admin/articles/preview',
      { body_md: 'Public.\n\n<!--more-->\n\nRéservé.', access: 'premium', title: 'T', lede: '' },
      { 'x-csrf-token': csrfOf(page.body), 'hx-request': 'true' },
    );
    expect(preview.statusCode).toBe(200);
    const html = load(preview.body);
    expect(html('.preview__body').first().text()).toContain('Public.');
    expect(html('[data-testid="teaser-cut"]').length).toBe(1);
    expect(html('.preview__body--premium').text()).toContain('Réservé.');
  });

  it('puts the queue dashboard behind the sign-in', async () => {
    const anonymous = await t.request({ method: 'GET', url: '/admin/queues' });
    expect(anonymous.statusCode).toBe(303);
    expect(anonymous.headers.location).toContain('/admin/sign-in');
    const api = await t.request({ method: 'GET', url: '/admin/queues/api/queues' });
    expect(api.statusCode).toBe(303);
    const board = await desk.get('/admin/queues');
    expect(board.statusCode).toBe(200);
    expect(board.body).toContain('__UI_CONFIG__');
    // The board's own page links Google's fonts: a self-hosted desk calls no third party.
    expect(board.body).toContain('<title>');
    expect(board.body).not.toMatch(/fonts\.(?:googleapis|gstatic)\.com/);
    const queues = await desk.get('/admin/queues/api/queues', { accept: 'application/json' });
    expect(queues.statusCode).toBe(200);
    expect(JSON.stringify(queues.json())).toContain('delivery');
  });
});

describe('API tokens made on the desk', () => {
  let t: TestApp;
  let desk: DeskClient;
  beforeAll(async () => {
    t = await startTestApp();
    desk = new DeskClient(t);
    await desk.setUp();
  });
  afterAll(async () => {
    await t.close();
  });

  async function issue(name: string, scope: 'read' | 'write'): Promise<string> {
    const page = await desk.submit('/admin/tokens', '/admin/tokens', { name, scope });
    expect(page.statusCode).toBe(200);
    return load(page.body)('[data-testid="new-token"]').text();
  }

  const bearer = (token: string) => ({
    authorization: `Bearer ${token}`,
    'content-type': 'application/json',
  });

  it('shows a token once, keeps only its hash, and scopes it', async () => {
    const writer = await issue('Publication automatique', 'write');
    const reader = await issue('Tableau de bord', 'read');
    expect(writer).toMatch(/^dpc_[A-Za-z0-9_-]{43}$/);
    const rows = await t.database.db.select().from(apiTokens);
    expect(rows).toHaveLength(2);
    expect(JSON.stringify(rows)).not.toContain(writer.slice(12));
    const list = await desk.get('/admin/tokens');
    expect(list.body).not.toContain(writer);
    expect(list.body).toContain('Publication automatique');

    const created = await t.request({
      method: 'POST',
      url: '/api/articles',
      headers: bearer(writer),
      payload: { title: 'Par jeton', body_md: 'x' },
    });
    expect(created.statusCode).toBe(201);
    const read = await t.request({ method: 'GET', url: '/api/articles', headers: bearer(reader) });
    expect(read.statusCode).toBe(200);
    const before = await articleCount(t);
    const refused = await t.request({
      method: 'POST',
      url: '/api/articles',
      headers: bearer(reader),
      payload: { title: 'Lecture seule', body_md: 'x' },
    });
    expect(refused.statusCode).toBe(403);
    expect(refused.json().message).toContain('read-only');
    expect(await articleCount(t)).toBe(before);
    const [used] = await t.database.db.select().from(apiTokens).where(eq(apiTokens.name, 'Tableau de bord'));
    expect(used?.lastUsedAt).toBeInstanceOf(Date);
  });

  it('refuses a revoked token at once', async () => {
    const token = await issue('À révoquer', 'write');
    const [row] = await t.database.db.select().from(apiTokens).where(eq(apiTokens.name, 'À révoquer'));
    const page = await desk.get('/admin/tokens');
    const revoked = await desk.post(`/admin/tokens/${row?.id}/revoke`, { _csrf: csrfOf(page.body) });
    expect(revoked.statusCode).toBe(303);
    const refused = await t.request({ method: 'GET', url: '/api/articles', headers: bearer(token) });
    expect(refused.statusCode).toBe(401);
    const again = await desk.post(`/admin/tokens/${row?.id}/revoke`, { _csrf: csrfOf(page.body) });
    expect(again.statusCode).toBe(404);
  });

  it('refuses a token name with a line break', async () => {
    const page = await desk.submit('/admin/tokens', '/admin/tokens', { name: 'a\nb', scope: 'write' });
    expect(page.statusCode).toBe(400);
    expect(load(page.body)('[data-testid="new-token"]').length).toBe(0);
  });
});

describe('the desk’s edition and subscriber pages', () => {
  let t: TestApp;
  let desk: DeskClient;
  beforeAll(async () => {
    t = await startTestApp();
    desk = new DeskClient(t);
    await desk.setUp();
  });
  afterAll(async () => {
    await t.close();
  });

  it('warns beside the preview when an edition is past Gmail’s clipping size', async () => {
    const paragraphs = Array.from(
      { length: 400 },
      (_, i) => `Paragraphe ${i} : ${'analyse détaillée '.repeat(20)}`,
    );
    const article = (
      await t.api('POST', '/api/articles', {
        title: 'Très long',
        body_md: paragraphs.join('\n\n'),
        access: 'public',
      })
    ).json();
    await t.api('POST', `/api/articles/${article.id}/publish`);
    const created = await desk.submit('/admin/editions/new', '/admin/editions', {
      subject: 'Une lettre trop longue',
      audience: 'all',
      article_ids: [article.id],
    });
    expect(created.statusCode).toBe(303);
    const page = load((await desk.get(created.headers.location as string)).body);
    expect(page('[data-testid="gmail-warning"]').length).toBe(2);
    expect(page('[data-testid="gmail-warning"]').first().text()).toContain('102 Ko');
    const frame = await desk.get(page('iframe[data-tier="free"]').attr('src') ?? '');
    expect(frame.statusCode).toBe(200);
    expect(frame.body).toContain('Paragraphe 399');
  });

  it('schedules an article and an edition, lists the edition as next on the dashboard, and cancels it', async () => {
    const scheduled = await desk.submit('/admin/articles/new', '/admin/articles', {
      title: 'Pour demain',
      body_md: 'Texte.',
      access: 'premium',
      publish_at: '2099-06-01T08:30',
      action: 'schedule',
    });
    expect(scheduled.statusCode).toBe(303);
    const [later] = await t.database.db.select().from(articles).where(eq(articles.title, 'Pour demain'));
    expect(later).toMatchObject({ status: 'scheduled', publishAt: new Date('2099-06-01T06:30:00Z') });

    const article = (await t.api('POST', '/api/articles', { title: 'Déjà publié', body_md: 'x' })).json();
    await t.api('POST', `/api/articles/${article.id}/publish`);
    const created = await desk.submit('/admin/editions/new', '/admin/editions', {
      subject: 'Lettre programmée',
      audience: 'premium',
      article_ids: [article.id],
    });
    const editionUrl = created.headers.location as string;
    const scheduledEdition = await desk.submit(editionUrl, `${editionUrl}/schedule`, {
      send_at: '2099-06-07T18:00',
      action: 'schedule',
    });
    expect(scheduledEdition.statusCode).toBe(303);
    const dashboard = load((await desk.get('/admin')).body);
    expect(dashboard('ul.list').text()).toContain('Lettre programmée');
    const page = load((await desk.get(editionUrl)).body);
    expect(page('[data-testid="edition-status"]').text()).toBe('Programmée');
    expect(page('#progress').attr('hx-get')).toContain('/progress?shown=scheduled');
    // "Send now" says how many it will mail: the premium members, active, right now.
    const premium = (await t.api('GET', '/api/subscribers?tier=premium&status=active&limit=100')).json<{
      items: unknown[];
    }>().items.length;
    expect(page('button[value="now"]').attr('data-confirm')).toBe(
      `Envoyer cette édition maintenant à ses ${premium} destinataires ?`,
    );

    const cancelled = await desk.submit(editionUrl, `${editionUrl}/cancel`, {});
    expect(cancelled.statusCode).toBe(303);
    const after = load((await desk.get(editionUrl)).body);
    expect(after('[data-testid="edition-status"]').text()).toBe('Annulée');
    expect(after('#progress').attr('hx-get')).toBeUndefined();
    const progress = await desk.get(`${editionUrl}/progress?shown=scheduled`, { 'hx-request': 'true' });
    expect(progress.headers['hx-refresh']).toBe('true');
  });

  it('changes a tier and goes back to the same list, never to a forged address', async () => {
    const created = (
      await t.api('POST', '/api/subscribers', { email: 'palier@exemple.fr', tier: 'free', confirmed: true })
    ).json();
    const list = await desk.get('/admin/subscribers?q=palier');
    // The list says how many match, all pages together.
    expect(load(list.body)('[data-testid="subscriber-total"]').text()).toBe('1 abonné(s)');
    const [all] = await t.database.db.select({ n: count() }).from(subscribers);
    expect(load((await desk.get('/admin/subscribers')).body)('[data-testid="subscriber-total"]').text()).toBe(
      `${(all?.n ?? 0).toLocaleString('fr')} abonné(s)`,
    );
    const changed = await desk.post(`/admin/subscribers/${created.id}/tier`, {
      _csrf: csrfOf(list.body),
      tier: 'premium',
      back: '/admin/subscribers?q=palier',
    });
    expect(changed.headers.location).toBe('/admin/subscribers?q=palier');
    const forged = await desk.post(`/admin/subscribers/${created.id}/tier`, {
      _csrf: csrfOf(list.body),
      tier: 'free',
      back: '/admin/subscribers?q=x\r\nSet-Cookie: a=b',
    });
    expect(forged.statusCode).toBe(303);
    expect(forged.headers.location).toBe('/admin/subscribers');
    const refused = await desk.post(`/admin/subscribers/${created.id}/tier`, {
      _csrf: csrfOf(list.body),
      tier: 'gold',
    });
    expect(refused.statusCode).toBe(400);
    expect((await t.api('GET', `/api/subscribers/${created.id}`)).json().tier).toBe('free');
  });

  it('puts an edition’s articles in the order the editor numbers them, the lead story first', async () => {
    const ids: string[] = [];
    for (const title of ['Premier écrit', 'Deuxième écrit', 'Troisième écrit']) {
      const article = (await t.api('POST', '/api/articles', { title, body_md: 'x' })).json<{ id: string }>();
      await t.api('POST', `/api/articles/${article.id}/publish`);
      ids.push(article.id);
    }
    const [first, second, third] = ids as [string, string, string];
    const created = await desk.submit('/admin/editions/new', '/admin/editions', {
      subject: 'Dans l’ordre',
      audience: 'all',
      article_ids: [first, second, third],
      [`position_${third}`]: '1',
      [`position_${first}`]: '2',
    });
    expect(created.statusCode).toBe(303);
    const id = (created.headers.location as string).split('/').pop() ?? '';
    const edition = (await t.api('GET', `/api/editions/${id}`)).json<{ article_ids: string[] }>();
    expect(edition.article_ids).toEqual([third, first, second]);

    // A refused form keeps the order typed.
    const refused = await desk.submit('/admin/editions/new', '/admin/editions', {
      subject: '',
      audience: 'all',
      article_ids: [first, second],
      [`position_${second}`]: '1',
    });
    expect(refused.statusCode).toBe(400);
    const page = load(refused.body);
    expect(page(`input[name="position_${second}"]`).attr('value')).toBe('1');
    expect(page(`input[name="position_${first}"]`).attr('value')).toBe('2');
  });

  it('changes a draft edition’s articles and their order after it was made', async () => {
    const ids: string[] = [];
    for (const title of ['Ordre A', 'Ordre B', 'Ordre C']) {
      const article = (await t.api('POST', '/api/articles', { title, body_md: 'x' })).json<{ id: string }>();
      await t.api('POST', `/api/articles/${article.id}/publish`);
      ids.push(article.id);
    }
    const [a, b, c] = ids as [string, string, string];
    const created = await desk.submit('/admin/editions/new', '/admin/editions', {
      subject: 'À réordonner',
      audience: 'all',
      article_ids: [a, b],
    });
    const url = created.headers.location as string;
    const page = load((await desk.get(url)).body);
    // The draft's form shows its articles ticked and numbered as they stand.
    expect(page(`input[name="position_${a}"]`).attr('value')).toBe('1');
    expect(page(`input[name="position_${b}"]`).attr('value')).toBe('2');
    expect(page(`input[name="article_ids"][value="${c}"]`).attr('checked')).toBeUndefined();

    const saved = await desk.submit(url, url, {
      subject: 'À réordonner',
      audience: 'all',
      article_ids: [a, b, c],
      [`position_${c}`]: '1',
      [`position_${b}`]: '2',
      [`position_${a}`]: '3',
    });
    expect(saved.statusCode).toBe(303);
    const id = url.split('/').pop() ?? '';
    expect((await t.api('GET', `/api/editions/${id}`)).json<{ article_ids: string[] }>().article_ids).toEqual(
      [c, b, a],
    );

    const emptied = await desk.submit(url, url, { subject: 'À réordonner', audience: 'all' });
    expect(emptied.statusCode).toBe(400);
    expect((await t.api('GET', `/api/editions/${id}`)).json<{ article_ids: string[] }>().article_ids).toEqual(
      [c, b, a],
    );
  });

  it('refuses an edition without articles, keeping what was typed', async () => {
    const refused = await desk.submit('/admin/editions/new', '/admin/editions', {
      subject: 'Vide',
      audience: 'all',
    });
    expect(refused.statusCode).toBe(400);
    const page = load(refused.body);
    expect(page('input[name="subject"]').attr('value')).toBe('Vide');
    expect(page('.field-error').text()).toBe('Choisissez au moins un article.');
  });

  it('imports a CSV with its progress kept for the page to poll, and reports each bad line', async () => {
    const lines = [
      'email,name,tier',
      ...Array.from({ length: 3000 }, (_, i) => `lecteur${i}@exemple.fr,Lecteur ${i},free`),
      'pas-une-adresse,X,free',
    ];
    const csv = `${lines.join('\n')}\n`;
    const page = await desk.get('/admin/subscribers');
    const importId = '0f9d5c2e-import-test';
    const notCsv = await desk.post(
      `/admin/subscribers/import?id=${importId}`,
      { email: 'x@exemple.fr' },
      { 'x-csrf-token': csrfOf(page.body) },
    );
    expect(notCsv.statusCode).toBe(400);
    expect(load(notCsv.body)('main').text()).toContain('Le fichier doit être un CSV (text/csv).');
    const response = await t.request({
      method: 'POST',
      url: `/admin/subscribers/import?id=${importId}`,
      payload: csv,
      headers: { cookie: desk.jar.header(), 'content-type': 'text/csv', 'x-csrf-token': csrfOf(page.body) },
    });
    expect(response.statusCode).toBe(200);
    const html = load(response.body);
    expect(html('[data-testid="import-imported"]').text()).toBe('3\u202f000');
    expect(html('[data-testid="import-errors"]').text()).toBe('1');
    expect(html('[data-testid="import-format"]').text()).toBe(
      'Format reconnu\u00a0: Dépêche (email, name, tier)',
    );
    expect(html('td').first().text()).toBe('3002');
    expect(html('td').eq(1).text()).toBe('Ce n’est pas une adresse e-mail valide.');
    const state = await desk.get(`/admin/subscribers/import/${importId}`);
    expect(state.json()).toEqual({ read: Buffer.byteLength(csv), total: Buffer.byteLength(csv), done: true });

    const wrongColumns = await t.request({
      method: 'POST',
      url: '/admin/subscribers/import?id=another-import-1',
      payload: 'courriel\nx@exemple.fr\n',
      headers: { cookie: desk.jar.header(), 'content-type': 'text/csv', 'x-csrf-token': csrfOf(page.body) },
    });
    expect(wrongColumns.statusCode).toBe(400);
    expect(load(wrongColumns.body)('[data-testid="import-failure"]').text()).toBe(
      'Colonne inconnue dans l’en-tête («\u00a0courriel\u00a0»)\u00a0: seules email, name et tier sont lues, ou un export de Substack, Ghost, Mailchimp ou listmonk.',
    );
  });
});

describe('the desk in English', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ LOCALE: 'en' });
  });
  afterAll(async () => {
    await t.close();
  });

  it('speaks the publication’s locale', async () => {
    const desk = new DeskClient(t);
    const setup = await desk.get('/admin/setup');
    expect(load(setup.body)('html').attr('lang')).toBe('en');
    expect(setup.body).toContain('Create the account');
    await desk.setUp();
    const dashboard = await desk.get('/admin');
    expect(
      load(dashboard.body)('nav a')
        .map((_, a) => load(a).text())
        .get(),
    ).toEqual([
      'Dashboard',
      'Articles',
      'Editions',
      'Subscribers',
      'Comments',
      'Payments',
      'Settings',
      'API tokens',
      'Team',
      'Queues',
    ]);
  });
});

describe('the team and each editor’s account', () => {
  let t: TestApp;
  let owner: DeskClient;
  const EDITOR = { email: 'pigiste@exemple.fr', name: 'Pigiste', password: 'une autre phrase secrète' };
  beforeAll(async () => {
    t = await startTestApp();
    owner = new DeskClient(t);
    await owner.setUp();
  });
  afterAll(async () => {
    await t.close();
  });

  it('lets the owner add an editor, who signs in but may not add anyone', async () => {
    const refused = await owner.submit('/admin/team', '/admin/team', {
      email: OWNER.email,
      name: 'Doublon',
      password: EDITOR.password,
      password_again: EDITOR.password,
    });
    expect(refused.statusCode).toBe(400);
    expect(load(refused.body)('.field-error').text()).toBe('Cette adresse a déjà un compte.');
    const added = await owner.submit('/admin/team', '/admin/team', {
      email: EDITOR.email,
      name: EDITOR.name,
      password: EDITOR.password,
      password_again: EDITOR.password,
    });
    expect(added.headers.location).toBe('/admin/team?added=1');
    expect(await editorCount(t)).toBe(2);

    const editor = new DeskClient(t);
    expect((await editor.signIn(EDITOR.email, EDITOR.password)).statusCode).toBe(303);
    const team = await editor.get('/admin/team');
    expect(load(team.body)('form[action="/admin/team"]').length).toBe(0);
    const forbidden = await editor.post('/admin/team', {
      _csrf: csrfOf(team.body),
      email: 'intrus@exemple.fr',
      password: EDITOR.password,
      password_again: EDITOR.password,
    });
    expect(forbidden.statusCode).toBe(403);
    expect(await editorCount(t)).toBe(2);
  });

  it('ends every other session when a password changes, and takes only the new one', async () => {
    const elsewhere = new DeskClient(t);
    await elsewhere.signIn(EDITOR.email, EDITOR.password);
    const here = new DeskClient(t);
    await here.signIn(EDITOR.email, EDITOR.password);
    const wrong = await here.submit('/admin/account', '/admin/account/password', {
      current_password: 'pas le bon mot de passe',
      password: 'nouvelle phrase secrète',
      password_again: 'nouvelle phrase secrète',
    });
    expect(wrong.statusCode).toBe(400);
    expect(load(wrong.body)('.field-error').text()).toBe('Ce n’est pas votre mot de passe actuel.');
    const changed = await here.submit('/admin/account', '/admin/account/password', {
      current_password: EDITOR.password,
      password: 'nouvelle phrase secrète',
      password_again: 'nouvelle phrase secrète',
    });
    expect(changed.headers.location).toBe('/admin/account?changed=1');
    expect((await here.get('/admin')).statusCode).toBe(200);
    expect((await elsewhere.get('/admin')).statusCode).toBe(303);
    expect((await elsewhere.get('/admin/sign-in')).statusCode).toBe(200);
    expect((await new DeskClient(t).signIn(EDITOR.email, EDITOR.password)).statusCode).toBe(401);
    expect((await new DeskClient(t).signIn(EDITOR.email, 'nouvelle phrase secrète')).statusCode).toBe(303);
  });

  it('lets the owner remove an editor, whose session and tokens end at once', async () => {
    const editor = new DeskClient(t);
    await editor.signIn(EDITOR.email, 'nouvelle phrase secrète');
    const tokenPage = await editor.submit('/admin/tokens', '/admin/tokens', {
      name: 'Script',
      scope: 'read',
    });
    const token = load(tokenPage.body)('[data-testid="new-token"]').text();
    const [row] = await t.database.db.select().from(editors).where(eq(editors.email, EDITOR.email));
    const team = await owner.get('/admin/team');
    expect(load(team.body)(`form[action="/admin/team/${row?.id}/remove"]`).length).toBe(1);
    const removed = await owner.post(`/admin/team/${row?.id}/remove`, { _csrf: csrfOf(team.body) });
    expect(removed.statusCode).toBe(303);
    expect((await editor.get('/admin')).statusCode).toBe(303);
    const signIn = await editor.get('/admin/sign-in?next=%2Fadmin&expired=1');
    expect(signIn.statusCode).toBe(200);
    expect((await editor.get('/admin/queues')).statusCode).toBe(303);
    const api = await t.request({
      method: 'GET',
      url: '/api/articles',
      headers: { authorization: `Bearer ${token}` },
    });
    expect(api.statusCode).toBe(401);
    const [self] = await t.database.db.select().from(editors);
    const ownerRemoval = await owner.post(`/admin/team/${self?.id}/remove`, { _csrf: csrfOf(team.body) });
    expect(ownerRemoval.statusCode).toBe(404);
    expect(await editorCount(t)).toBe(1);
  });
});
