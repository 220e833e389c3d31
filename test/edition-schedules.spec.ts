import { eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { editionSchedules, editions } from '../src/database/schema.js';
import { EditionSchedulesService } from '../src/editions/edition-schedules.service.js';
import { sampleArticle } from './fixtures/sample-article.js';
import { seedAudience } from './helpers/audience.js';
import { FAST_PIPELINE, finished } from './helpers/editions.js';
import { eventually, type SmtpSink, startSmtpSink } from './helpers/smtp-sink.js';
import { startTestApp, type TestApp } from './helpers/test-app.js';

const WEEKLY = {
  name: 'La lettre du dimanche',
  cron: '0 18 * * 0',
  time_zone: 'Europe/Paris',
  subject: 'La lettre du {date}',
  preheader: 'Ce que nous avons publié cette semaine',
};

describe('recurring editions', () => {
  let t: TestApp;
  let sink: SmtpSink;
  beforeAll(async () => {
    sink = await startSmtpSink();
    t = await startTestApp({ SMTP_URL: sink.url, ...FAST_PIPELINE });
    await seedAudience(t, { free: 3, premium: 2 }, 'hebdo');
  });
  afterAll(async () => {
    await t.close();
    await sink.close();
  });

  async function publish(title: string): Promise<string> {
    const article = (await t.api('POST', '/api/articles', sampleArticle({ title, slug: undefined }))).json();
    expect((await t.api('POST', `/api/articles/${article.id}/publish`)).statusCode).toBe(200);
    return article.id as string;
  }

  /** Moves the schedule's slot to just now, as if a week had passed. */
  async function reachSlot(id: string): Promise<void> {
    await t.database.db
      .update(editionSchedules)
      .set({ nextRunAt: sql`now()` })
      .where(eq(editionSchedules.id, id));
  }

  const editionsOf = (scheduleId: string) =>
    t.database.db
      .select()
      .from(editions)
      .where(eq(editions.scheduleId, scheduleId))
      .orderBy(editions.createdAt);

  it('shows the next slots in the schedule time zone', async () => {
    const res = await t.api('POST', '/api/edition-schedules', WEEKLY);
    expect(res.statusCode).toBe(201);
    const schedule = res.json();
    const slots = (schedule.upcoming as string[]).map((iso) => new Date(iso));
    expect(slots).toHaveLength(3);
    for (const slot of slots) {
      const local = new Intl.DateTimeFormat('fr-FR', {
        timeZone: 'Europe/Paris',
        weekday: 'long',
        hour: '2-digit',
        minute: '2-digit',
      }).format(slot);
      expect(local).toBe('dimanche 18:00');
    }
    expect(schedule.next_run_at).toBe(schedule.upcoming[0]);
    expect(new Date(schedule.next_run_at).getTime()).toBeGreaterThan(Date.now());
    expect((await t.api('DELETE', `/api/edition-schedules/${schedule.id}`)).statusCode).toBe(204);
    expect((await t.api('GET', `/api/edition-schedules/${schedule.id}`)).statusCode).toBe(404);
  });

  it('refuses a bad expression, time zone or start, naming the field, and stores nothing', async () => {
    const cases: [Record<string, unknown>, string, RegExp][] = [
      [{ cron: '0 0 18 * * 0' }, 'cron', /five fields/],
      [{ cron: '0 25 * * 0' }, 'cron', /not a valid cron expression/],
      [{ time_zone: 'Europe/Lutece' }, 'time_zone', /IANA time zone/],
      [{ articles_since: '2099-01-01T00:00' }, 'articles_since', /future/],
      [{ articles_since: 'hier' }, 'articles_since', /ISO 8601/],
      [{ audience: 'everyone' }, 'audience', /must be one of/],
      [{ subject: 'Deux\nlignes' }, 'subject', /line/],
    ];
    const before = (await t.api('GET', '/api/edition-schedules')).json().length;
    for (const [change, field, message] of cases) {
      const res = await t.api('POST', '/api/edition-schedules', { ...WEEKLY, ...change });
      expect(res.statusCode, field).toBe(400);
      const body = res.json();
      expect(body.details[0].field).toBe(field);
      expect(body.message).toMatch(message);
    }
    expect((await t.api('GET', '/api/edition-schedules')).json().length).toBe(before);
  });

  it('makes an edition of what was published since the previous one, and skips a slot with nothing new', async () => {
    const older = await publish('Publié avant la création du rendez-vous');
    await new Promise((resolve) => setTimeout(resolve, 20));
    const schedule = (await t.api('POST', '/api/edition-schedules', WEEKLY)).json();
    const first = await publish('Premier article de la semaine');
    const second = await publish('Second article de la semaine');

    await reachSlot(schedule.id);
    const [edition] = await eventually(async () => {
      const rows = await editionsOf(schedule.id);
      return rows.length > 0 ? rows : undefined;
    });
    expect(edition!.articleIds).toEqual([first, second]);
    expect(edition!.articleIds).not.toContain(older);
    expect(edition!.preheader).toBe(WEEKLY.preheader);
    const expectedDate = new Intl.DateTimeFormat('fr', {
      dateStyle: 'long',
      timeZone: 'Europe/Paris',
    }).format(edition!.scheduledAt!);
    expect(edition!.subject).toBe(`La lettre du ${expectedDate}`);
    const done = await finished(t, edition!.id);
    expect(done).toMatchObject({ status: 'sent', schedule_id: schedule.id, counts: { total: 5, sent: 5 } });
    expect(sink.messages.filter((m) => m.parsed.subject === edition!.subject)).toHaveLength(5);

    const afterFirst = (await t.api('GET', `/api/edition-schedules/${schedule.id}`)).json();
    expect(afterFirst.last_outcome).toBe('created');
    expect(new Date(afterFirst.next_run_at).getTime()).toBeGreaterThan(Date.now());

    // A week with nothing new: no edition, and the schedule moves on.
    await reachSlot(schedule.id);
    const skipped = await eventually(async () => {
      const row = (await t.api('GET', `/api/edition-schedules/${schedule.id}`)).json();
      return new Date(row.next_run_at).getTime() > Date.now() ? row : undefined;
    });
    expect(skipped.last_outcome).toBe('skipped');
    expect(await editionsOf(schedule.id)).toHaveLength(1);

    // The week after: only what is new since the last edition.
    const third = await publish('Troisième article');
    await reachSlot(schedule.id);
    const rows = await eventually(async () => {
      const all = await editionsOf(schedule.id);
      return all.length === 2 ? all : undefined;
    });
    expect(rows[1]!.articleIds).toEqual([third]);
    await finished(t, rows[1]!.id);
  });

  it('makes one edition per slot however many ticks run at once', async () => {
    const schedule = (
      await t.api('POST', '/api/edition-schedules', { ...WEEKLY, name: 'Concurrence' })
    ).json();
    await publish('Un article pour la concurrence');
    await reachSlot(schedule.id);
    const service = t.app.get(EditionSchedulesService);
    await Promise.all([service.runDue(), service.runDue(), service.runDue()]);
    await eventually(async () => {
      const row = (await t.api('GET', `/api/edition-schedules/${schedule.id}`)).json();
      return row.last_outcome === 'created' ? row : undefined;
    });
    expect(await editionsOf(schedule.id)).toHaveLength(1);
  });

  it('does not make up slots missed while paused, and keeps its editions when deleted', async () => {
    const schedule = (await t.api('POST', '/api/edition-schedules', { ...WEEKLY, name: 'En pause' })).json();
    const paused = (await t.api('PATCH', `/api/edition-schedules/${schedule.id}`, { active: false })).json();
    expect(paused.active).toBe(false);
    await publish('Publié pendant la pause');
    await reachSlot(schedule.id);
    await new Promise((resolve) => setTimeout(resolve, 600));
    expect(await editionsOf(schedule.id)).toHaveLength(0);

    const resumed = (await t.api('PATCH', `/api/edition-schedules/${schedule.id}`, { active: true })).json();
    expect(new Date(resumed.next_run_at).getTime()).toBeGreaterThan(Date.now());
    const retimed = (
      await t.api('PATCH', `/api/edition-schedules/${schedule.id}`, { cron: '30 7 * * 1', time_zone: 'UTC' })
    ).json();
    expect(retimed.upcoming[0]).toMatch(/T07:30:00\.000Z$/);
    expect(new Date(retimed.upcoming[0]).getUTCDay()).toBe(1);
    expect(
      (await t.api('PATCH', `/api/edition-schedules/${schedule.id}`, { cron: 'chaque lundi' })).statusCode,
    ).toBe(400);

    await reachSlot(schedule.id);
    const [made] = await eventually(async () => {
      const rows = await editionsOf(schedule.id);
      return rows.length > 0 ? rows : undefined;
    });
    expect((await t.api('DELETE', `/api/edition-schedules/${schedule.id}`)).statusCode).toBe(204);
    const kept = (await t.api('GET', `/api/editions/${made!.id}`)).json();
    expect(kept.schedule_id).toBeNull();
  });
});
