import { load } from 'cheerio';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { settings } from '../src/database/schema.js';
import sharp from 'sharp';
import { csrfOf, DeskClient, settingsForm } from './helpers/desk.js';
import { eventually, type SmtpSink, startSmtpSink } from './helpers/smtp-sink.js';
import { sameDeployment, startTestApp, type TestApp } from './helpers/test-app.js';
import { testEngine } from './helpers/test-database.js';

const EDITOR = { email: 'pierre@exemple.fr', name: 'Pierre Rédacteur', password: 'another horse battery' };

const CHANGES = {
  name: 'L’Observatoire du Levant',
  tagline: 'Analyses de géopolitique, chaque semaine',
  description: 'Le Proche-Orient expliqué, sans raccourcis.',
  accent_colour: '#1D4E89',
  navigation: 'À propos | /a-propos\r\nArchives | https://archives.exemple.fr/levant',
  footer: '© L’Observatoire du Levant — reproduction interdite.',
  sender_name: 'L’Observatoire',
  sender_address: 'lettre@observatoire.exemple.fr',
  reply_to: 'redaction@observatoire.exemple.fr',
  postal_address: '12 rue des Écoles\n75005 Paris',
  time_zone: 'America/Montreal',
  soft_bounce_limit: '5',
  event_retention_days: '90',
};

describe('publication settings on the desk', () => {
  let sink: SmtpSink;
  let t: TestApp;
  const owner = (): DeskClient => desk;
  let desk: DeskClient;

  beforeAll(async () => {
    sink = await startSmtpSink();
    t = await startTestApp({ SMTP_URL: sink.url, POSTAL_ADDRESS: '1 place de la Bourse, 75002 Paris' });
    desk = new DeskClient(t);
    await desk.setUp();
  });
  afterAll(async () => {
    await t.close();
    await sink.close();
  });

  it('lists on the dashboard what a new publication still has to do', async () => {
    const dashboard = load((await owner().get('/admin')).body);
    const steps = dashboard('.checklist__step');
    expect(steps.map((_, li) => dashboard(li).attr('data-step')).get()).toEqual([
      'postal-address',
      'sender',
      'dkim',
      'first-article',
      'first-subscriber',
    ]);
    expect(
      dashboard('.checklist__step--done')
        .map((_, li) => dashboard(li).attr('data-step'))
        .get(),
    ).toEqual(['postal-address', 'sender']);
    expect(dashboard('.checklist p.muted').text()).toBe('2 étapes faites sur 5.');
    expect(dashboard('[data-step="first-article"] a').attr('href')).toBe('/admin/articles/new');
    expect(dashboard('[data-step="dkim"]').text()).toContain('DKIM_SELECTOR');
  });

  it('shows the environment’s values until an editor saves their own', async () => {
    const page = load((await owner().get('/admin/settings')).body);
    expect(page('input[name="name"]').attr('value')).toBe('Le Blog de Dépêche');
    expect(page('textarea[name="postal_address"]').text()).toBe('1 place de la Bourse, 75002 Paris');
    expect(page('select[name="locale"] option[selected]').attr('value')).toBe('fr');
    expect(page('input[name="time_zone"]').attr('value')).toBe('Europe/Paris');
    expect(page('nav a[href="/admin/settings"]').attr('aria-current')).toBe('page');
  });

  it('refuses a wrong form field by field, in French, keeping what was typed and changing nothing', async () => {
    const home = (await t.request({ method: 'GET', url: '/' })).body;
    const fields = await settingsForm(owner(), {
      name: '   ',
      sender_address: 'pas-une-adresse',
      accent_colour: 'rouge',
      navigation: 'À propos /a-propos\nPiège | javascript:alert(1)',
      time_zone: 'Europe/Atlantide',
      event_retention_days: '0',
      tagline: 'Une accroche gardée',
    });
    const refused = await owner().post('/admin/settings', fields);
    expect(refused.statusCode).toBe(400);
    const page = load(refused.body);
    expect(page('#name-error').text()).toBe('Ce champ est obligatoire.');
    expect(page('#sender_address-error').text()).toBe('Ce n’est pas une adresse e-mail valide.');
    expect(page('#accent_colour-error').text()).toBe('Une couleur au format #rrggbb, par exemple #9b1c1c.');
    expect(page('#navigation-error').text()).toContain('« | »');
    expect(page('#time_zone-error').text()).toBe('Un fuseau horaire IANA, par exemple Europe/Paris.');
    expect(page('#event_retention_days-error').text()).toBe('Un nombre entier, dans les limites indiquées.');
    expect(page('input[name="name"]').attr('aria-invalid')).toBe('true');
    expect(page('input[name="tagline"]').attr('value')).toBe('Une accroche gardée');
    expect(page('input[name="sender_address"]').attr('value')).toBe('pas-une-adresse');
    expect(page('textarea[name="navigation"]').text()).toContain('javascript:alert(1)');
    expect(await t.database.db.select().from(settings)).toEqual([]);
    expect((await t.request({ method: 'GET', url: '/' })).body).toBe(home);
  });

  it('lets only the owner save them', async () => {
    await owner().submit('/admin/team', '/admin/team', {
      email: EDITOR.email,
      name: EDITOR.name,
      password: EDITOR.password,
      password_again: EDITOR.password,
    });
    const editor = new DeskClient(t);
    await editor.signIn(EDITOR.email, EDITOR.password);
    const page = await editor.get('/admin/settings');
    expect(load(page.body)('fieldset[disabled]').length).toBeGreaterThan(0);
    const forbidden = await editor.post('/admin/settings', await settingsForm(editor, { name: 'Pris' }));
    expect(forbidden.statusCode).toBe(403);
    expect(load(forbidden.body)('main').text()).toContain('Seul le propriétaire change les réglages');
    expect(await t.database.db.select().from(settings)).toEqual([]);
  });

  it('shows an uploaded logo on the blog and in emails, and an uploaded icon in the tab', async () => {
    const page = await owner().get('/admin/settings');
    const upload = async (color: string) => {
      const image = await sharp({ create: { width: 512, height: 512, channels: 3, background: color } })
        .jpeg()
        .toBuffer();
      const answer = await t.request({
        method: 'POST',
        url: '/admin/media?alt=Logo',
        headers: {
          cookie: desk.jar.header(),
          'content-type': 'image/jpeg',
          'x-csrf-token': csrfOf(page.body),
        },
        payload: image,
      });
      expect(answer.statusCode).toBe(201);
      return answer.json<{ address: string }>().address;
    };
    const logo = await upload('#1d4e89');
    const favicon = await upload('#9b1c1c');
    const refused = await owner().post(
      '/admin/settings',
      await settingsForm(owner(), { logo: 'https://evil.example/x.png' }),
    );
    expect(refused.statusCode).toBe(400);
    expect(load(refused.body)('#logo-error').text()).toBe(
      'Une image envoyée ici même (son adresse commence par /media/), ou rien.',
    );
    expect(load(refused.body)('input[name="logo"]').attr('value')).toBe('https://evil.example/x.png');

    expect(
      (await owner().post('/admin/settings', await settingsForm(owner(), { logo, favicon }))).statusCode,
    ).toBe(303);
    const home = load((await t.request({ method: 'GET', url: '/' })).body);
    expect(home('.masthead__name img.masthead__logo').attr('src')).toBe(
      logo.replace(/\/512x512\.jpg$/, '/480.jpg'),
    );
    expect(home('link[rel="icon"]').attr('href')).toBe(favicon.replace(/\/512x512\.jpg$/, '/480.jpg'));
    expect(home('link[rel="icon"]').attr('type')).toBe('image/jpeg');
    expect(
      (await t.request({ method: 'GET', url: new URL(logo.replace('512x512', '480')).pathname })).statusCode,
    ).toBe(200);

    await t.request({
      method: 'POST',
      url: '/subscribe',
      remoteAddress: '198.51.100.8',
      headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'text/html' },
      payload: new URLSearchParams({ email: 'logo@exemple.fr' }).toString(),
    });
    const [mail] = await sink.waitFor('logo@exemple.fr');
    expect(load(mail!.parsed.html || '')(`img[src="${logo.replace('512x512', '480')}"]`).length).toBe(1);

    expect(
      (await owner().post('/admin/settings', await settingsForm(owner(), { logo: '', favicon: '' })))
        .statusCode,
    ).toBe(303);
    expect(load((await t.request({ method: 'GET', url: '/' })).body)('.masthead__logo').length).toBe(0);
  });

  it('applies a saved publication at once: the blog, its feed and every email', async () => {
    // A page kept for strangers before the change must not outlive it.
    await t.request({ method: 'GET', url: '/' });
    expect((await t.request({ method: 'GET', url: '/' })).headers['x-cache']).toBe('hit');

    const saved = await owner().post('/admin/settings', await settingsForm(owner(), CHANGES));
    expect(saved.statusCode).toBe(303);
    expect(saved.headers.location).toBe('/admin/settings?saved=1');
    const page = load((await owner().get('/admin/settings?saved=1')).body);
    expect(page('.notice').text()).toContain('Réglages enregistrés');
    expect(page('input[name="accent_colour"]').attr('value')).toBe('#1d4e89');
    expect(page('textarea[name="navigation"]').text()).toBe(
      'À propos | /a-propos\nArchives | https://archives.exemple.fr/levant',
    );

    const homeResponse = await t.request({ method: 'GET', url: '/' });
    expect(homeResponse.headers['x-cache']).toBeUndefined();
    const home = load(homeResponse.body);
    expect(home('title').text()).toBe(CHANGES.name);
    expect(home('.masthead__name').text()).toBe(CHANGES.name);
    expect(home('.masthead__tagline').text()).toBe(CHANGES.tagline);
    expect(home('meta[name="description"]').attr('content')).toBe(CHANGES.description);
    expect(home('style').text()).toBe(':root{--accent:#1d4e89}');
    expect(
      home('.masthead__nav a')
        .map((_, a) => `${home(a).text()} ${home(a).attr('href')}`)
        .get(),
    ).toEqual([
      'À propos https://blog.example.test/a-propos',
      'Archives https://archives.exemple.fr/levant',
      'Rechercher https://blog.example.test/search',
      'S’abonner #subscribe-title',
      'Se connecter https://blog.example.test/sign-in',
    ]);
    expect(home('.colophon__text').text()).toBe(CHANGES.footer);
    const feed = (await t.request({ method: 'GET', url: '/feed.xml' })).body;
    expect(feed).toContain('<title>L’Observatoire du Levant</title>');

    await t.request({
      method: 'POST',
      url: '/subscribe',
      remoteAddress: '198.51.100.7',
      headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'text/html' },
      payload: new URLSearchParams({ email: 'lectrice@exemple.fr' }).toString(),
    });
    const [confirmation] = await sink.waitFor('lectrice@exemple.fr');
    const mail = confirmation!.parsed;
    expect(mail.from?.value).toEqual([{ name: 'L’Observatoire', address: 'lettre@observatoire.exemple.fr' }]);
    expect(mail.replyTo?.value[0]?.address).toBe('redaction@observatoire.exemple.fr');
    expect(mail.subject).toContain(CHANGES.name);
    expect(mail.text).toContain('12 rue des Écoles');
  });

  it('speaks the locale an editor picks, on the blog and on the desk', async () => {
    const saved = await owner().post('/admin/settings', await settingsForm(owner(), { locale: 'en' }));
    expect(saved.statusCode).toBe(303);
    const home = load((await t.request({ method: 'GET', url: '/' })).body);
    expect(home('html').attr('lang')).toBe('en');
    expect(home('.masthead__nav').text()).toContain('Sign in');
    const settingsPage = load((await owner().get('/admin/settings')).body);
    expect(settingsPage('h1').text()).toBe('Settings');
    const back = await owner().post('/admin/settings', await settingsForm(owner(), { locale: 'fr' }));
    expect(back.statusCode).toBe(303);
    expect(load((await t.request({ method: 'GET', url: '/' })).body)('html').attr('lang')).toBe('fr');
  });
});

describe.runIf(testEngine() === 'postgres')('publication settings across processes', () => {
  let first: TestApp;
  let second: TestApp;
  beforeAll(async () => {
    first = await startTestApp();
    second = await startTestApp(sameDeployment(first));
  });
  afterAll(async () => {
    await second.close();
    await first.close();
  });

  it('reach another process within seconds, without a restart', async () => {
    const desk = new DeskClient(first);
    await desk.setUp();
    expect(load((await second.request({ method: 'GET', url: '/' })).body)('title').text()).toBe(
      'Le Blog de Dépêche',
    );
    const saved = await desk.post('/admin/settings', await settingsForm(desk, { name: 'Le Nouveau Nom' }));
    expect(saved.statusCode).toBe(303);
    await eventually(async () => {
      const title = load((await second.request({ method: 'GET', url: '/' })).body)('title').text();
      return title === 'Le Nouveau Nom' || undefined;
    });
  });
});
