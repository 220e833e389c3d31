import { load } from 'cheerio';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DeskClient, OWNER } from './helpers/desk.js';
import { type ReceivedMail, type SmtpSink, startSmtpSink } from './helpers/smtp-sink.js';
import { startTestApp, type TestApp } from './helpers/test-app.js';

let t: TestApp;
let sink: SmtpSink;
let owner: DeskClient;

const INVITED = {
  email: 'chroniqueuse@exemple.fr',
  name: 'Émilie Chroniqueuse',
  password: 'une phrase bien à elle',
};

/** The path of the desk link a message carries. */
function deskLinkIn(mail: ReceivedMail, kind: 'invitation' | 'reset-password'): string {
  const match = new RegExp(`https://blog\\.example\\.test(/admin/${kind}/[A-Za-z0-9_-]{43})`).exec(
    mail.parsed.text ?? '',
  );
  if (!match?.[1]) throw new Error(`No ${kind} link in: ${mail.parsed.text}`);
  return match[1];
}

beforeAll(async () => {
  sink = await startSmtpSink();
  t = await startTestApp({ SMTP_URL: sink.url, SIGN_IN_RATE_LIMIT: '100/600' });
  owner = new DeskClient(t);
  expect((await owner.setUp()).statusCode).toBe(303);
});
afterAll(async () => {
  await t.close();
  await sink.close();
});

describe('invitations by email', () => {
  it('invites someone who makes their own account from the link, once', async () => {
    const invited = await owner.submit('/admin/team', '/admin/team', {
      name: INVITED.name,
      email: INVITED.email,
    });
    expect(invited.headers.location).toBe('/admin/team?invited=1');
    const team = load((await owner.get('/admin/team?invited=1')).body);
    expect(team('.notice').text()).toContain('Invitation envoyée.');
    expect(team('.invitations').text()).toContain(INVITED.email);

    const [mail] = await sink.waitFor(INVITED.email, 1);
    expect(mail!.parsed.subject).toBe('Invitation à la rédaction de Le Blog de Dépêche');
    expect(mail!.parsed.text).toContain(`${OWNER.name} vous invite`);
    const link = deskLinkIn(mail!, 'invitation');

    const newcomer = new DeskClient(t);
    const form = load((await newcomer.get(link)).body);
    expect(form('input[name="name"]').val()).toBe(INVITED.name);
    const short = await newcomer.submit(link, link, {
      name: INVITED.name,
      password: 'court',
      password_again: 'court',
    });
    expect(short.statusCode).toBe(400);
    expect(load(short.body)('.field-error').text()).toContain('12');
    const made = await newcomer.submit(link, link, {
      name: INVITED.name,
      password: INVITED.password,
      password_again: INVITED.password,
    });
    expect(made.statusCode).toBe(303);
    expect(made.headers.location).toBe('/admin');
    expect((await newcomer.get('/admin')).statusCode).toBe(200);

    const after = load((await owner.get('/admin/team')).body);
    expect(after('table').text()).toContain(INVITED.email);
    expect(after('.invitations').length).toBe(0);
    expect((await new DeskClient(t).get(link)).statusCode).toBe(410);
    expect((await new DeskClient(t).signIn(INVITED.email, INVITED.password)).statusCode).toBe(303);
  });

  it('refuses an address with an account, and anyone but the owner', async () => {
    const taken = await owner.submit('/admin/team', '/admin/team', { name: 'Doublon', email: INVITED.email });
    expect(taken.statusCode).toBe(400);
    expect(load(taken.body)('.field-error').text()).toBe('Cette adresse a déjà un compte.');
    const editor = new DeskClient(t);
    await editor.signIn(INVITED.email, INVITED.password);
    const refused = await editor.submit('/admin/team', '/admin/team', {
      name: 'Intrus',
      email: 'intrus@exemple.fr',
    });
    expect(refused.statusCode).toBe(403);
    expect(load((await owner.get('/admin/team')).body)('.invitations').length).toBe(0);
  });

  it('lets the owner withdraw an invitation, whose link then leads nowhere', async () => {
    const email = 'pas.finalement@exemple.fr';
    await owner.submit('/admin/team', '/admin/team', { name: '', email });
    const link = deskLinkIn((await sink.waitFor(email, 1))[0]!, 'invitation');
    const withdrawn = await owner.submit('/admin/team', '/admin/team/invitations/withdraw', { email });
    expect(withdrawn.statusCode).toBe(303);
    const gone = await new DeskClient(t).get(link);
    expect(gone.statusCode).toBe(410);
    expect(load(gone.body)('h1').text()).toContain('Ce lien n’est plus valable');
  });
});

describe('a forgotten password', () => {
  it('answers every address alike and mails a link to an editor’s only', async () => {
    const stranger = new DeskClient(t);
    expect(load((await stranger.get('/admin/sign-in')).body)('a[href="/admin/forgot-password"]').length).toBe(
      1,
    );
    const unknown = await stranger.submit('/admin/forgot-password', '/admin/forgot-password', {
      email: 'inconnu@exemple.fr',
    });
    const known = await stranger.submit('/admin/forgot-password', '/admin/forgot-password', {
      email: INVITED.email.toUpperCase(),
    });
    expect(unknown.statusCode).toBe(200);
    expect(load(unknown.body)('main').text()).toBe(load(known.body)('main').text());
    const mails = await sink.waitFor(INVITED.email, 2);
    expect(mails[1]!.parsed.subject).toBe('Choisir un nouveau mot de passe');
    expect(sink.to('inconnu@exemple.fr')).toEqual([]);
    const forged = await stranger.post('/admin/forgot-password', { email: INVITED.email, _csrf: 'faux' });
    expect(forged.statusCode).toBe(403);
  });

  it('sets a new password from the link, ends the other sessions, and works once', async () => {
    const elsewhere = new DeskClient(t);
    await elsewhere.signIn(INVITED.email, INVITED.password);
    const before = sink.to(INVITED.email).length;
    await new DeskClient(t).submit('/admin/forgot-password', '/admin/forgot-password', {
      email: INVITED.email,
    });
    const link = deskLinkIn((await sink.waitFor(INVITED.email, before + 1))[before]!, 'reset-password');
    const browser = new DeskClient(t);
    expect(load((await browser.get(link)).body)('main').text()).toContain(INVITED.email);
    const mismatch = await browser.submit(link, link, {
      password: 'nouvelle phrase secrète',
      password_again: 'une autre phrase',
    });
    expect(mismatch.statusCode).toBe(400);
    const reset = await browser.submit(link, link, {
      password: 'nouvelle phrase secrète',
      password_again: 'nouvelle phrase secrète',
    });
    expect(reset.headers.location).toBe('/admin');
    expect((await browser.get('/admin')).statusCode).toBe(200);
    expect((await elsewhere.get('/admin')).statusCode).toBe(303);
    expect((await new DeskClient(t).signIn(INVITED.email, INVITED.password)).statusCode).toBe(401);
    expect((await new DeskClient(t).signIn(INVITED.email, 'nouvelle phrase secrète')).statusCode).toBe(303);
    expect((await new DeskClient(t).get(link)).statusCode).toBe(410);
  });

  it('lets no link outlive a later password change', async () => {
    const before = sink.to(INVITED.email).length;
    await new DeskClient(t).submit('/admin/forgot-password', '/admin/forgot-password', {
      email: INVITED.email,
    });
    const link = deskLinkIn((await sink.waitFor(INVITED.email, before + 1))[before]!, 'reset-password');
    const editor = new DeskClient(t);
    await editor.signIn(INVITED.email, 'nouvelle phrase secrète');
    const changed = await editor.submit('/admin/account', '/admin/account/password', {
      current_password: 'nouvelle phrase secrète',
      password: 'encore une autre phrase',
      password_again: 'encore une autre phrase',
    });
    expect(changed.statusCode).toBe(303);
    expect((await new DeskClient(t).get(link)).statusCode).toBe(410);
  });
});
