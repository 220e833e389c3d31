import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  addMember,
  askForLink,
  linksHandled,
  memberCookieOf,
  signInLinkIn,
  useLink,
} from './helpers/members.js';
import { type SmtpSink, startSmtpSink } from './helpers/smtp-sink.js';
import { PUBLIC_URL, startTestApp, type TestApp } from './helpers/test-app.js';

let sink: SmtpSink;
let t: TestApp;

beforeAll(async () => {
  sink = await startSmtpSink();
  t = await startTestApp({ SMTP_URL: sink.url, SIGN_IN_RATE_LIMIT: '100/600' });
});
afterAll(async () => {
  await t.close();
  await sink.close();
});

describe('member sign-in by email link', () => {
  it("is offered in the blog's header and in the paywall, coming back to the article", async () => {
    const home = await t.request({ method: 'GET', url: '/' });
    expect(home.body).toContain(`<a href="${PUBLIC_URL}/sign-in">Se connecter</a>`);
    const article = (
      await t.api('POST', '/api/articles', { title: 'Réservé', body_md: 'Début.\n\n<!--more-->\n\nSuite.' })
    ).json();
    await t.api('POST', `/api/articles/${article.id}/publish`);
    const page = await t.request({ method: 'GET', url: `/articles/${article.slug}` });
    expect(page.body).toContain(`href="${PUBLIC_URL}/sign-in?next=%2Farticles%2F${article.slug}"`);
    const form = await t.request({ method: 'GET', url: `/sign-in?next=%2Farticles%2F${article.slug}` });
    expect(form.statusCode).toBe(200);
    expect(form.body).toContain(`name="next" value="/articles/${article.slug}"`);
  });

  it('mails a one-time link whose GET signs nobody in and whose POST opens a session, then goes back', async () => {
    await addMember(t, 'lea@exemple.fr');
    const asked = await askForLink(t, 'Lea@Exemple.fr', '/articles/syrie');
    expect(asked.statusCode).toBe(200);
    expect(asked.headers['cache-control']).toBe('no-store');
    expect(asked.body).toContain('Vérifiez votre boîte de réception');

    const [mail] = await sink.waitFor('lea@exemple.fr');
    expect(mail!.parsed.subject).toContain('Votre lien de connexion à');
    expect(mail!.parsed.text).toContain('15 minutes');
    const link = signInLinkIn(mail!);

    const page = await t.request({ method: 'GET', url: link });
    expect(page.statusCode).toBe(200);
    expect(page.headers['set-cookie']).toBeUndefined();
    expect(page.body).toContain(`action="${PUBLIC_URL}${link}"`);
    expect(page.body).toContain('Me connecter');

    const signedIn = await useLink(t, link);
    expect(signedIn.statusCode).toBe(303);
    expect(signedIn.headers.location).toBe(`${PUBLIC_URL}/articles/syrie`);
    const cookie = memberCookieOf(signedIn);
    expect(cookie).toMatch(/; HttpOnly/);
    expect(cookie).toMatch(/; SameSite=Lax/);
    expect(cookie).toMatch(/; Secure/);
    expect(cookie).toMatch(/; Path=\//);
    expect(cookie).toMatch(/; Max-Age=\d+/);

    const session = cookie.split(';')[0]!;
    const account = await t.request({ method: 'GET', url: '/account', headers: { cookie: session } });
    expect(account.statusCode).toBe(200);
    expect(account.headers['cache-control']).toBe('no-store');
    expect(account.body).toContain('lea@exemple.fr');
    expect(account.body).toContain('Gratuite (extraits)');

    // Single use: the same link again is refused, plainly, with the form to ask for another.
    const again = await useLink(t, link);
    expect(again.statusCode).toBe(400);
    expect(again.headers['set-cookie']).toBeUndefined();
    expect(again.body).toContain('a déjà servi, a expiré');
    expect(again.body).toContain('action="https://blog.example.test/sign-in"');
    expect((await t.request({ method: 'GET', url: link })).statusCode).toBe(400);
  });

  it('answers an unknown address exactly as a known one, and mails it nothing', async () => {
    await addMember(t, 'connu@exemple.fr');
    const known = await askForLink(t, 'connu@exemple.fr');
    const unknown = await askForLink(t, 'inconnu@exemple.fr');
    expect(unknown.statusCode).toBe(known.statusCode);
    expect(unknown.body).toBe(known.body);
    await sink.waitFor('connu@exemple.fr');
    await linksHandled(t);
    expect(sink.to('inconnu@exemple.fr')).toHaveLength(0);
  });

  it('mails nothing to a subscriber who has not confirmed or has left', async () => {
    await t.request({
      method: 'POST',
      url: '/subscribe',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: 'email=attente%40exemple.fr',
    });
    await sink.waitFor('attente@exemple.fr'); // the confirmation
    await askForLink(t, 'attente@exemple.fr');
    await linksHandled(t);
    expect(sink.to('attente@exemple.fr')).toHaveLength(1);
  });

  it('refuses forged, mangled and cross-site uses of a link, and keeps a good link usable after', async () => {
    await addMember(t, 'prudent@exemple.fr');
    await askForLink(t, 'prudent@exemple.fr');
    const link = signInLinkIn((await sink.waitFor('prudent@exemple.fr'))[0]!);
    for (const path of ['/sign-in/forged', `/sign-in/${'A'.repeat(43)}`, `${link.slice(0, -1)}x`]) {
      const answer = await useLink(t, path);
      expect(answer.statusCode, path).toBe(400);
      expect(answer.headers['set-cookie'], path).toBeUndefined();
    }
    const crossSite = await useLink(t, link, 'https://evil.example');
    expect(crossSite.statusCode).toBe(403);
    expect(crossSite.headers['set-cookie']).toBeUndefined();
    expect((await useLink(t, link)).statusCode).toBe(303);
  });

  it('goes back only to a page of the blog', async () => {
    await addMember(t, 'retour@exemple.fr');
    for (const [i, next] of [
      '//evil.example/x',
      'https://evil.example/',
      '/\\evil.example',
      '/admin',
    ].entries()) {
      await askForLink(t, 'retour@exemple.fr', next);
      const mails = await sink.waitFor('retour@exemple.fr', i + 1);
      const signedIn = await useLink(t, signInLinkIn(mails[i]!));
      expect(signedIn.headers.location, next).toBe(`${PUBLIC_URL}/account`);
    }
  });

  it('says what is wrong with the address, and queues nothing', async () => {
    for (const email of ['pas-une-adresse', 'a@exemple.fr\r\nBcc: x@exemple.fr', '']) {
      const answer = await askForLink(t, email);
      expect(answer.statusCode, email).toBe(400);
      expect(answer.body).toContain('class="form-error"');
    }
    await linksHandled(t);
  });

  it('limits the links one address may ask for, and says when to try again', async () => {
    await addMember(t, 'presse@exemple.fr');
    const answers = [];
    for (let i = 0; i < 6; i += 1) answers.push(await askForLink(t, 'presse@exemple.fr'));
    expect(answers.slice(0, 5).map((a) => a.statusCode)).toEqual([200, 200, 200, 200, 200]);
    expect(answers[5]!.statusCode).toBe(429);
    expect(Number(answers[5]!.headers['retry-after'])).toBeGreaterThan(0);
    await linksHandled(t);
    expect(sink.to('presse@exemple.fr')).toHaveLength(5);
  });

  it('signs out, and an erased member is signed out everywhere', async () => {
    const id = await addMember(t, 'sortie@exemple.fr');
    const sessions = [];
    for (let i = 1; i <= 2; i += 1) {
      await askForLink(t, 'sortie@exemple.fr');
      const mails = await sink.waitFor('sortie@exemple.fr', i);
      sessions.push(memberCookieOf(await useLink(t, signInLinkIn(mails[i - 1]!))).split(';')[0]!);
    }
    const out = await t.request({
      method: 'POST',
      url: '/sign-out',
      headers: { cookie: sessions[0]!, origin: PUBLIC_URL },
    });
    expect(out.statusCode).toBe(200);
    expect(memberCookieOf(out)).toMatch(/depeche_member=;/);
    const afterOut = await t.request({ method: 'GET', url: '/account', headers: { cookie: sessions[0]! } });
    expect(afterOut.statusCode).toBe(303);
    expect(afterOut.headers.location).toBe(`${PUBLIC_URL}/sign-in?next=%2Faccount`);

    expect(
      (await t.request({ method: 'GET', url: '/account', headers: { cookie: sessions[1]! } })).statusCode,
    ).toBe(200);
    expect((await t.api('DELETE', `/api/subscribers/${id}`)).statusCode).toBeLessThan(300);
    expect(
      (await t.request({ method: 'GET', url: '/account', headers: { cookie: sessions[1]! } })).statusCode,
    ).toBe(303);
  });
});
