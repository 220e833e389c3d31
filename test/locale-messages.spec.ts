import { load } from 'cheerio';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DeskClient } from './helpers/desk.js';
import { startTestApp, type TestApp } from './helpers/test-app.js';

/** Words of the API's English messages: none may reach a page of a French publication. */
const ENGLISH = /\b(must|should|is not|already|expected|characters long|does not|not a known)\b/;

function subscribe(t: TestApp, fields: Record<string, string>) {
  return t.request({
    method: 'POST',
    url: '/subscribe',
    remoteAddress: '198.51.100.20',
    headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'text/html' },
    payload: new URLSearchParams(fields).toString(),
  });
}

describe('refusals in a French publication', () => {
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

  it('tell a reader what is wrong with the subscribe form, field by field, in French', async () => {
    const badAddress = await subscribe(t, { email: 'pas-une-adresse' });
    expect(badAddress.statusCode).toBe(400);
    const page = load(badAddress.body);
    expect(page('html').attr('lang')).toBe('fr');
    expect(page('main').text()).toContain('Adresse e-mail\u00a0: Ce n’est pas une adresse e-mail valide.');
    expect(page('main').text()).not.toMatch(ENGLISH);

    const longName = load((await subscribe(t, { email: 'lea@exemple.fr', name: 'é'.repeat(101) })).body);
    expect(longName('main').text()).toContain('Prénom\u00a0: 100 caractères au plus.');
    const unknownField = load((await subscribe(t, { email: 'lea@exemple.fr', admin: 'oui' })).body);
    expect(unknownField('main').text()).toContain('Ce champ n’est pas attendu ici.');
    expect(unknownField('main').text()).not.toMatch(ENGLISH);
  });

  it('tell an editor what is wrong beside each field of the desk’s forms, in French', async () => {
    const refusals = [
      await desk.submit('/admin/articles/new', '/admin/articles', {
        title: '   ',
        slug: 'Pas Un Slug',
        body_md: 'x',
        action: 'save',
      }),
      await desk.submit('/admin/articles/new', '/admin/articles', {
        title: 'Dans le passé',
        body_md: 'x',
        publish_at: '2001-01-01T10:00',
        action: 'schedule',
      }),
      await desk.submit('/admin/articles/new', '/admin/articles', {
        title: 'Date impossible',
        body_md: 'x',
        publish_at: 'demain midi',
        action: 'schedule',
      }),
      await desk.submit('/admin/editions/new', '/admin/editions', { subject: 'Vide', audience: 'all' }),
      await desk.submit('/admin/team', '/admin/team', {
        email: 'pas-une-adresse',
        name: 'Nom\nsur deux lignes',
        password: 'court',
        password_again: 'autre',
      }),
    ];
    const seen: string[] = [];
    for (const refused of refusals) {
      expect(refused.statusCode).toBe(400);
      const page = load(refused.body);
      const problems = page('.field-error, .form-error')
        .map((_, p) => page(p).text().trim())
        .get();
      expect(problems.length).toBeGreaterThan(0);
      for (const problem of problems) expect(problem).not.toMatch(ENGLISH);
      seen.push(...problems);
    }
    expect(seen).toEqual(
      expect.arrayContaining([
        'Ce champ est obligatoire.',
        'Des minuscules et des chiffres séparés par des tirets, par exemple syrie-al-qaryatayn.',
        'Indiquez une date et une heure à venir.',
        'Choisissez au moins un article.',
        'Ce n’est pas une adresse e-mail valide.',
        'Une seule ligne de 100 caractères au plus.',
        '12 caractères au moins (256 au plus).',
      ]),
    );
  });
});

describe('refusals in an English publication', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ LOCALE: 'en' });
  });
  afterAll(async () => {
    await t.close();
  });

  it('are in English', async () => {
    const page = load((await subscribe(t, { email: 'not-an-address' })).body);
    expect(page('html').attr('lang')).toBe('en');
    expect(page('main').text()).toContain('Email address: This is not a valid email address.');
  });

  it('keep the API’s own messages for the API', async () => {
    const answer = await t.api('POST', '/api/subscribers', { email: 'not-an-address' });
    expect(answer.statusCode).toBe(400);
    expect(answer.json()).toMatchObject({
      details: [{ field: 'email', message: '"not-an-address" is not an email address', code: 'email' }],
    });
  });
});
