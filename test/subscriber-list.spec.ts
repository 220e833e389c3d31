import { load } from 'cheerio';
import { parse } from 'csv-parse/sync';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { csrfOf, DeskClient } from './helpers/desk.js';
import { startTestApp, subscriberByEmail, type TestApp } from './helpers/test-app.js';

let t: TestApp;
let desk: DeskClient;
const PEOPLE = [
  { email: 'zoe@exemple.fr', name: 'Zoé' },
  { email: 'adele@exemple.fr', name: 'Émile' },
  { email: 'marc@exemple.fr', name: 'Bernard' },
  { email: 'bruno@exemple.fr', name: 'Agnès' },
  { email: 'claire@exemple.fr', name: 'claire' },
];
const ids = new Map<string, string>();

beforeAll(async () => {
  t = await startTestApp();
  desk = new DeskClient(t);
  await desk.setUp();
  for (const person of PEOPLE) {
    const created = await t.api('POST', '/api/subscribers', { ...person, confirmed: true });
    expect(created.statusCode).toBe(201);
    ids.set(person.email, created.json().id as string);
  }
});
afterAll(async () => {
  await t.close();
});

/** Every page of the API's list in one order, following the cursors. */
async function allPages(sort: string, limit: number): Promise<string[]> {
  const emails: string[] = [];
  let cursor: string | null = null;
  do {
    const page = await t.api(
      'GET',
      `/api/subscribers?sort=${sort}&limit=${limit}${cursor ? `&cursor=${cursor}` : ''}`,
    );
    expect(page.statusCode).toBe(200);
    emails.push(...page.json().items.map((item: { email: string }) => item.email));
    cursor = page.json().next_cursor as string | null;
  } while (cursor);
  return emails;
}

describe('sorting subscribers', () => {
  it('lists them by address, name, or age, page after page, through the API', async () => {
    expect(await allPages('email', 2)).toEqual([
      'adele@exemple.fr',
      'bruno@exemple.fr',
      'claire@exemple.fr',
      'marc@exemple.fr',
      'zoe@exemple.fr',
    ]);
    expect(await allPages('name', 2)).toEqual([
      'bruno@exemple.fr',
      'marc@exemple.fr',
      'claire@exemple.fr',
      'zoe@exemple.fr',
      'adele@exemple.fr',
    ]);
    expect(await allPages('oldest', 3)).toEqual(PEOPLE.map((p) => p.email));
    expect(await allPages('newest', 3)).toEqual(PEOPLE.map((p) => p.email).reverse());
  });

  it('refuses an unknown order, and a cursor given out for another order', async () => {
    expect((await t.api('GET', '/api/subscribers?sort=random')).statusCode).toBe(400);
    const first = (await t.api('GET', '/api/subscribers?sort=email&limit=1')).json();
    const crossed = await t.api('GET', `/api/subscribers?sort=name&cursor=${first.next_cursor}`);
    expect(crossed.statusCode).toBe(400);
    expect(crossed.json().details[0]).toMatchObject({ field: 'cursor' });
  });

  it('orders the desk’s list as chosen', async () => {
    const page = load((await desk.get('/admin/subscribers?sort=email')).body);
    expect(
      page('table.subscribers tbody tr td:nth-child(2)')
        .map((_, cell) => page(cell).text())
        .get(),
    ).toEqual(PEOPLE.map((p) => p.email).sort());
    expect(page('select[name="sort"] option[selected]').attr('value')).toBe('email');
  });
});

describe('bulk actions on the desk', () => {
  async function bulk(fields: Record<string, string | string[]>) {
    const page = await desk.get('/admin/subscribers');
    return desk.post('/admin/subscribers/bulk', {
      _csrf: csrfOf(page.body),
      back: '/admin/subscribers?sort=email',
      ...fields,
    });
  }

  it('changes the tier of the ticked subscribers only, and says how many', async () => {
    const ticked = [ids.get('zoe@exemple.fr')!, ids.get('marc@exemple.fr')!];
    const done = await bulk({ ids: ticked, action: 'premium' });
    expect(done.statusCode).toBe(303);
    expect(done.headers.location).toBe('/admin/subscribers?sort=email&done=2');
    expect(load((await desk.get(done.headers.location as string)).body)('.notice').text()).toContain(
      '2 abonné(s) traité(s).',
    );
    expect((await subscriberByEmail(t, 'zoe@exemple.fr'))!.tier).toBe('premium');
    expect((await subscriberByEmail(t, 'marc@exemple.fr'))!.tier).toBe('premium');
    expect((await subscriberByEmail(t, 'claire@exemple.fr'))!.tier).toBe('free');
    await bulk({ ids: ticked, action: 'free' });
    expect((await subscriberByEmail(t, 'zoe@exemple.fr'))!.tier).toBe('free');
  });

  it('exports just the ticked subscribers as CSV', async () => {
    const exported = await bulk({
      ids: [ids.get('adele@exemple.fr')!, ids.get('bruno@exemple.fr')!],
      action: 'export',
    });
    expect(exported.statusCode).toBe(200);
    expect(exported.headers['content-type']).toContain('text/csv');
    const rows = parse<{ email: string }>(exported.body, { columns: true });
    expect(rows.map((row) => row.email).sort()).toEqual(['adele@exemple.fr', 'bruno@exemple.fr']);
  });

  it('refuses an empty selection, a forged id or an unknown action in French, changing nothing', async () => {
    const none = await bulk({ action: 'erase' });
    expect(none.statusCode).toBe(400);
    expect(load(none.body)('.alert').text()).toContain('Cochez au moins un abonné.');
    const forged = await bulk({ ids: ['1 or 1=1'], action: 'erase' });
    expect(forged.statusCode).toBe(400);
    const unknown = await bulk({ ids: [ids.get('zoe@exemple.fr')!], action: 'delete-all' });
    expect(unknown.statusCode).toBe(400);
    expect(load(unknown.body)('.alert').text()).toContain('Choisissez une action.');
    expect((await t.api('GET', '/api/subscribers?limit=50')).json().items).toHaveLength(PEOPLE.length);
  });

  it('erases the ticked subscribers, passing over one already gone', async () => {
    const gone = ids.get('claire@exemple.fr')!;
    expect((await t.api('DELETE', `/api/subscribers/${gone}`)).statusCode).toBe(204);
    const erased = await bulk({ ids: [ids.get('zoe@exemple.fr')!, gone], action: 'erase' });
    expect(erased.headers.location).toBe('/admin/subscribers?sort=email&done=1');
    expect(await subscriberByEmail(t, 'zoe@exemple.fr')).toBeUndefined();
    expect(await subscriberByEmail(t, 'marc@exemple.fr')).toBeDefined();
  });
});
