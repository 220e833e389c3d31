import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'csv-parse/sync';
import { eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addressHashOf, subscribers, suppressions } from '../src/database/schema.js';
import { type SmtpSink, startSmtpSink } from './helpers/smtp-sink.js';
import { startTestApp, subscriberByEmail, TEST_TOKEN, type TestApp } from './helpers/test-app.js';

let t: TestApp;
let sink: SmtpSink;
beforeAll(async () => {
  sink = await startSmtpSink();
  t = await startTestApp({ SMTP_URL: sink.url });
});
afterAll(async () => {
  await t.close();
  await sink.close();
});

async function create(body: Record<string, unknown>) {
  return t.api('POST', '/api/subscribers', body);
}

async function importCsv(csv: string, contentType = 'text/csv') {
  return t.request({
    method: 'POST',
    url: '/api/subscribers/import',
    headers: { authorization: `Bearer ${TEST_TOKEN}`, 'content-type': contentType },
    payload: csv,
  });
}

async function countSubscribers(): Promise<number> {
  const [row] = await t.database.db.select({ n: sql<number>`count(*)::int` }).from(subscribers);
  return row!.n;
}

describe('editor API: subscribers', () => {
  it('creates a confirmed subscriber, recorded as vouched for by the editor', async () => {
    const res = await create({
      email: 'Editeur.Ajoute@Exemple.FR',
      name: 'Éva',
      tier: 'premium',
      confirmed: true,
    });
    expect(res.statusCode).toBe(201);
    expect(res.json()).toMatchObject({
      email: 'Editeur.Ajoute@exemple.fr',
      name: 'Éva',
      tier: 'premium',
      status: 'active',
      consent: { source: 'api', form_wording: 'confirmed-by-editor' },
    });
    expect(res.json().consent.confirmed_at).not.toBeNull();
    const dup = await create({ email: 'editeur.ajoute@exemple.fr', confirmed: true });
    expect(dup.statusCode).toBe(409);
    expect(dup.json().details[0].field).toBe('email');
  });

  it('creates an unconfirmed subscriber by sending the confirmation email', async () => {
    const res = await create({ email: 'a-confirmer@exemple.fr', name: 'Paul' });
    expect(res.statusCode).toBe(202);
    const [mail] = await sink.waitFor('a-confirmer@exemple.fr');
    expect(mail!.parsed.subject).toContain('Confirmez votre abonnement');
    expect(await subscriberByEmail(t, 'a-confirmer@exemple.fr')).toMatchObject({
      status: 'pending',
      consentSource: 'api',
    });
  });

  it('refuses bad input with a 400 naming the field, and writes nothing', async () => {
    const before = await countSubscribers();
    for (const [body, field] of [
      [{ email: 'pas-une-adresse', confirmed: true }, 'email'],
      [{ email: 'x@exemple.fr', tier: 'gold', confirmed: true }, 'tier'],
      [{ email: 'x@exemple.fr', name: 'a\r\nb', confirmed: true }, 'name'],
      [{ email: 'x@exemple.fr', confirmed: 'yes' }, 'confirmed'],
      [{ email: 'x@exemple.fr', vip: true }, 'vip'],
    ] as const) {
      const res = await create(body);
      expect(res.statusCode, JSON.stringify(body)).toBe(400);
      expect(res.json().details.map((d: { field: string }) => d.field)).toContain(field);
    }
    expect((await t.request({ method: 'GET', url: '/api/subscribers' })).statusCode).toBe(401);
    expect(await countSubscribers()).toBe(before);
  });

  it('lists with filters and cursor pagination', async () => {
    for (const n of [1, 2, 3, 4, 5]) {
      await create({
        email: `liste${n}@exemple.fr`,
        name: `Liste ${n}`,
        tier: n % 2 ? 'premium' : 'free',
        confirmed: true,
      });
    }
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const url: string = `/api/subscribers?q=liste&limit=2${cursor ? `&cursor=${cursor}` : ''}`;
      const page = (await t.api('GET', url)).json();
      expect(page.items.length).toBeLessThanOrEqual(2);
      seen.push(...page.items.map((s: { email: string }) => s.email));
      cursor = page.next_cursor;
    } while (cursor);
    expect(seen).toEqual([5, 4, 3, 2, 1].map((n) => `liste${n}@exemple.fr`));

    const premium = (await t.api('GET', '/api/subscribers?q=LISTE&tier=premium')).json();
    expect(premium.items.map((s: { name: string }) => s.name)).toEqual(['Liste 5', 'Liste 3', 'Liste 1']);
    const pending = (await t.api('GET', '/api/subscribers?status=pending')).json();
    expect(pending.items.every((s: { status: string }) => s.status === 'pending')).toBe(true);

    expect((await t.api('GET', '/api/subscribers?cursor=garbage')).json().details[0].field).toBe('cursor');
    expect((await t.api('GET', '/api/subscribers?limit=0')).statusCode).toBe(400);
    expect((await t.api('GET', '/api/subscribers?status=vip')).statusCode).toBe(400);
  });

  it('changes tier, name and status, and will not activate someone who never confirmed', async () => {
    const { id } = (await create({ email: 'modif@exemple.fr', confirmed: true })).json();
    const res = await t.api('PATCH', `/api/subscribers/${id}`, { tier: 'premium', name: 'Modifié' });
    expect(res.json()).toMatchObject({ tier: 'premium', name: 'Modifié', status: 'active' });
    expect((await t.api('PATCH', `/api/subscribers/${id}`, { status: 'unsubscribed' })).json().status).toBe(
      'unsubscribed',
    );
    expect((await t.api('PATCH', `/api/subscribers/${id}`, { status: 'active' })).json().status).toBe(
      'active',
    );

    const pending = await subscriberByEmail(t, 'a-confirmer@exemple.fr');
    const refused = await t.api('PATCH', `/api/subscribers/${pending!.id}`, { status: 'active' });
    expect(refused.statusCode).toBe(409);
    expect((await subscriberByEmail(t, 'a-confirmer@exemple.fr'))!.status).toBe('pending');
    expect((await t.api('PATCH', `/api/subscribers/${id}`, { status: 'bounced' })).statusCode).toBe(400);
  });

  it('erases a subscriber: the row goes, the address stays suppressed', async () => {
    const { id } = (await create({ email: 'efface@exemple.fr', confirmed: true })).json();
    expect((await t.api('DELETE', `/api/subscribers/${id}`)).statusCode).toBe(204);
    expect((await t.api('GET', `/api/subscribers/${id}`)).statusCode).toBe(404);
    const [suppressed] = await t.database.db
      .select()
      .from(suppressions)
      .where(eq(suppressions.addressHash, addressHashOf('efface@exemple.fr')));
    expect(suppressed).toMatchObject({ reason: 'editor' });
    const again = await create({ email: 'EFFACE@exemple.fr', confirmed: true });
    expect(again.statusCode).toBe(409);
    expect(again.json().message).toContain('suppression list');
  });
});

describe('CSV import', () => {
  it('imports the good rows and reports every other line exactly', async () => {
    await create({ email: 'existant@exemple.fr', name: 'Ancien nom', confirmed: true });
    const { id } = (await create({ email: 'oublie@exemple.fr', confirmed: true })).json();
    await t.api('DELETE', `/api/subscribers/${id}`);

    const csv = [
      'email,name,tier',
      'bon1@exemple.fr,Anne,free',
      'bon2@exemple.fr,"Benoît, dit « Ben »",premium',
      '"""bon\\3""@exemple.fr",C:\\Lecteurs\\N,free',
      'BON1@Exemple.FR,Anne encore,free',
      'pas-une-adresse,X,free',
      'crlf@exemple.fr,"Jean',
      'Bcc: victime@exemple.fr",free',
      'colonne@exemple.fr,E,free,en trop',
      'offre@exemple.fr,T,gold',
      'existant@exemple.fr,Nouveau nom,premium',
      'oublie@exemple.fr,,free',
      '',
    ].join('\n');
    const res = await importCsv(csv);
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({
      format: 'depeche',
      imported: 3,
      updated: 1,
      skipped: 2,
      errors: [
        { line: 6, reason: 'email "pas-une-adresse" is not an email address', code: 'email' },
        { line: 7, reason: 'name must be one line without control characters', code: 'one-line' },
        {
          line: 9,
          reason: 'expected 3 columns (email, name, tier), found 4',
          code: 'column-count',
          limit: 3,
        },
        { line: 10, reason: 'tier must be free or premium, got "gold"', code: 'tier' },
      ],
    });
    // Backslashes, and a backslash before N (COPY's null), arrive as written.
    expect(await subscriberByEmail(t, '"bon\\3"@exemple.fr')).toMatchObject({ name: 'C:\\Lecteurs\\N' });
    expect(await subscriberByEmail(t, 'bon1@exemple.fr')).toMatchObject({
      name: 'Anne',
      status: 'active',
      consentSource: 'import',
    });
    expect(await subscriberByEmail(t, 'bon2@exemple.fr')).toMatchObject({
      name: 'Benoît, dit « Ben »',
      tier: 'premium',
    });
    expect(await subscriberByEmail(t, 'existant@exemple.fr')).toMatchObject({
      name: 'Nouveau nom',
      tier: 'premium',
    });
    for (const absent of ['crlf@exemple.fr', 'colonne@exemple.fr', 'offre@exemple.fr', 'oublie@exemple.fr']) {
      expect(await subscriberByEmail(t, absent), absent).toBeUndefined();
    }
  });

  it('reports a malformed line by its number and reads on, in a file of CRLF lines', async () => {
    const csv = [
      'email,name,tier',
      'avant@exemple.fr,"Deux',
      'lignes",free',
      'casse@exemple.fr,"Nom" en trop,free',
      '',
      'apres@exemple.fr,Après,free',
      'mauvaise-adresse,Z,free',
      '',
    ].join('\r\n');
    const res = await importCsv(csv);
    expect(res.statusCode).toBe(200);
    const report = res.json();
    expect(report).toMatchObject({ imported: 1, skipped: 0 });
    expect(report.errors).toEqual([
      { line: 2, reason: 'name must be one line without control characters', code: 'one-line' },
      { line: 4, reason: 'malformed CSV: text after the closing quote of a field', code: 'malformed' },
      { line: 7, reason: 'email "mauvaise-adresse" is not an email address', code: 'email' },
    ]);
    expect(await subscriberByEmail(t, 'apres@exemple.fr')).toMatchObject({ name: 'Après' });
    expect(await subscriberByEmail(t, 'casse@exemple.fr')).toBeUndefined();
  });

  it('never resubscribes someone who left', async () => {
    const { id } = (await create({ email: 'parti@exemple.fr', confirmed: true })).json();
    await t.api('PATCH', `/api/subscribers/${id}`, { status: 'unsubscribed' });
    const res = await importCsv('email\nparti@exemple.fr\n');
    expect(res.json()).toMatchObject({ imported: 0, updated: 1 });
    expect((await subscriberByEmail(t, 'parti@exemple.fr'))!.status).toBe('unsubscribed');
  });

  it('refuses a file with an unknown column, or not sent as CSV, before writing anything', async () => {
    const before = await countSubscribers();
    const res = await importCsv('email,prenom\nx1@exemple.fr,X\n');
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({ details: [{ field: 'header' }] });
    expect(res.json().message).toContain('"prenom"');
    expect((await importCsv('', 'text/csv')).statusCode).toBe(400);
    const json = await importCsv('{"email":"x2@exemple.fr"}', 'application/json');
    expect(json.statusCode).toBe(400);
    expect(await countSubscribers()).toBe(before);
  });

  describe('exports of other platforms', () => {
    const fixture = (name: string) => readFileSync(path.join('test/fixtures/imports', name), 'utf8');

    it('reads a Substack export: paying readers premium, those who turned emails off left out', async () => {
      const res = await importCsv(fixture('substack.csv'));
      expect(res.statusCode).toBe(200);
      expect(res.json()).toMatchObject({ format: 'substack', imported: 2, skipped: 1 });
      expect(res.json().errors).toEqual([expect.objectContaining({ line: 5, code: 'email' })]);
      expect(await subscriberByEmail(t, 'helene.durand@exemple.fr')).toMatchObject({
        name: 'Hélène Durand',
        tier: 'premium',
        status: 'active',
        consentSource: 'import',
        consentAt: new Date('2021-05-14T09:12:44.000Z'),
      });
      expect((await subscriberByEmail(t, 'gaspard@exemple.fr'))!.tier).toBe('free');
      expect(await subscriberByEmail(t, 'ne.plus.ecrire@exemple.fr')).toBeUndefined();
    });

    it('reads a Ghost members export: paid and complimentary members premium, its notes left aside', async () => {
      const res = await importCsv(fixture('ghost.csv'));
      expect(res.json()).toMatchObject({ format: 'ghost', imported: 3, skipped: 1, errors: [] });
      expect(await subscriberByEmail(t, 'francois.lefevre@exemple.fr')).toMatchObject({
        name: 'François Lefèvre',
        tier: 'premium',
        consentAt: new Date('2022-03-04T12:00:00.000Z'),
      });
      expect((await subscriberByEmail(t, 'anais@exemple.fr'))!.tier).toBe('premium');
      expect((await subscriberByEmail(t, 'leo@exemple.fr'))!.tier).toBe('free');
      expect(await subscriberByEmail(t, 'desabonne@exemple.fr')).toBeUndefined();
    });

    it('reads a Mailchimp audience export with its opt-in time, address and confirmation', async () => {
      const res = await importCsv(fixture('mailchimp.csv'));
      expect(res.json()).toMatchObject({ format: 'mailchimp', imported: 2 });
      expect(res.json().errors).toEqual([expect.objectContaining({ line: 4, code: 'consent-date' })]);
      expect(await subscriberByEmail(t, 'celine.roux@exemple.fr')).toMatchObject({
        name: 'Céline Roux',
        consentAt: new Date('2019-03-08T13:45:12.000Z'),
        consentIp: '203.0.113.7',
        confirmedAt: new Date('2019-03-08T13:47:01.000Z'),
      });
      // Confirmed without an opt-in time: the confirmation is the consent.
      expect(await subscriberByEmail(t, 'jerome@exemple.fr')).toMatchObject({
        name: 'Jérôme',
        consentAt: new Date('2020-10-10T10:10:10.000Z'),
      });
      expect(await subscriberByEmail(t, 'mauvaise.date@exemple.fr')).toBeUndefined();
    });

    it('reads a listmonk export and never brings back a blocklisted address', async () => {
      const res = await importCsv(fixture('listmonk.csv'));
      expect(res.json()).toMatchObject({ format: 'listmonk', imported: 2, skipped: 1, errors: [] });
      expect(await subscriberByEmail(t, 'noemie@exemple.fr')).toMatchObject({
        name: 'Noémie Petit',
        consentAt: new Date('2023-09-12T06:30:00.123Z'),
      });
      expect(await subscriberByEmail(t, 'bloque@exemple.fr')).toBeUndefined();
    });

    it('keeps the consent a known subscriber gave here when a platform’s file names them again', async () => {
      const before = (await subscriberByEmail(t, 'noemie@exemple.fr'))!;
      const again = await importCsv(
        fixture('listmonk.csv').replace('2023-09-12 08:30:00.123456+02', '2024-02-02 10:00:00+00'),
      );
      expect(again.json()).toMatchObject({ imported: 0, updated: 2 });
      expect((await subscriberByEmail(t, 'noemie@exemple.fr'))!.consentAt).toEqual(before.consentAt);
    });
  });

  it('imports many rows in batches', async () => {
    const rows = Array.from(
      { length: 5500 },
      (_, n) => `masse${n}@exemple.fr,Masse ${n},${n % 3 ? 'free' : 'premium'}`,
    );
    const res = await importCsv(`email,name,tier\n${rows.join('\n')}\n`);
    expect(res.json()).toEqual({ format: 'depeche', imported: 5500, updated: 0, skipped: 0, errors: [] });
    const premium = (await t.api('GET', '/api/subscribers?q=masse&tier=premium&limit=500')).json();
    expect(premium.items).toHaveLength(500);
  });

  it('writes nothing of a batch the database refuses, and the next import goes through', async () => {
    // A fault of the database's own, not of the file: a trigger refuses one address.
    await t.database.db.execute(
      sql.raw(`create function refuse_one_import() returns trigger language plpgsql as $$
        begin
          if new.email = 'refusee@exemple.fr' then raise exception 'refused by the test'; end if;
          return new;
        end $$`),
    );
    await t.database.db.execute(
      sql.raw(`create trigger refuse_one_import before insert on subscribers
        for each row execute function refuse_one_import()`),
    );
    const csv = 'email,name\nvoisine@exemple.fr,Voisine\nrefusee@exemple.fr,Refusée\n';
    try {
      expect((await importCsv(csv)).statusCode).toBe(500);
      expect(await subscriberByEmail(t, 'voisine@exemple.fr')).toBeUndefined();
    } finally {
      await t.database.db.execute(sql.raw('drop trigger refuse_one_import on subscribers'));
    }
    expect((await importCsv(csv)).json()).toMatchObject({ imported: 2, errors: [] });
    expect(await subscriberByEmail(t, 'refusee@exemple.fr')).toMatchObject({ name: 'Refusée' });
  });
});

describe('CSV export', () => {
  it('streams the subscribers as CSV, filtered', async () => {
    const res = await t.api('GET', '/api/subscribers/export?tier=premium');
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('text/csv; charset=utf-8');
    expect(res.headers['content-disposition']).toMatch(
      /^attachment; filename="subscribers-\d{4}-\d{2}-\d{2}\.csv"$/,
    );
    const records: Record<string, string>[] = parse(res.body, { columns: true });
    expect(records.length).toBeGreaterThan(800);
    expect(records.every((r) => r.tier === 'premium')).toBe(true);
    expect(records.find((r) => r.email === 'bon2@exemple.fr')).toMatchObject({ name: 'Benoît, dit « Ben »' });
    const all = parse((await t.api('GET', '/api/subscribers/export')).body, { columns: true });
    expect(all.length).toBe(await countSubscribers());
  });

  it('neutralises cells a spreadsheet would run as formulas, and keeps what was imported as given', async () => {
    const formulas = [
      '=HYPERLINK("https://evil.test","Cliquez")',
      "=cmd|' /C calc'!A0",
      '@SUM(1+1)',
      '+33 6 12',
    ];
    const csv = [
      'email,name',
      ...formulas.map((name, i) => `formule${i}@exemple.fr,"${name.replaceAll('"', '""')}"`),
    ];
    const imported = await importCsv(`${csv.join('\n')}\n`);
    expect(imported.json()).toMatchObject({ imported: formulas.length, errors: [] });
    const listed = (await t.api('GET', '/api/subscribers?q=formule')).json();
    expect(listed.items.map((s: { name: string }) => s.name).sort()).toEqual([...formulas].sort());
    const records: Record<string, string>[] = parse((await t.api('GET', '/api/subscribers/export')).body, {
      columns: true,
    });
    for (const [i, name] of formulas.entries()) {
      expect(records.find((r) => r.email === `formule${i}@exemple.fr`)?.name).toBe(`'${name}`);
    }
  });
});
