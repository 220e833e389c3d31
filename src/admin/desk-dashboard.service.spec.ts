import { describe, expect, it } from 'vitest';
import type { ArticlesRepository } from '../articles/articles.repository.js';
import type { AppConfig } from '../config/app-config.js';
import type { PublicationSettings } from '../settings/publication-settings.js';
import type { EditionRow } from '../database/schema.js';
import type { DeliveryCounts } from '../delivery/deliveries.repository.js';
import type { MessageEventsRepository } from '../delivery/message-events.repository.js';
import type { EditionsService } from '../editions/editions.service.js';
import type { SubscribersAdminService } from '../subscribers/subscribers-admin.service.js';
import { DeskDashboardService } from './desk-dashboard.service.js';

const COUNTS: DeliveryCounts = { total: 10, pending: 5, sent: 5, failed: 0, skipped: 0 };

function service(counts: () => Promise<DeliveryCounts>): DeskDashboardService {
  const editions = { counts } as unknown as EditionsService;
  return new DeskDashboardService(
    editions,
    {} as SubscribersAdminService,
    {} as MessageEventsRepository,
    { current: () => ({ timeZone: 'Europe/Paris' }) } as PublicationSettings,
    {} as ArticlesRepository,
    {} as AppConfig,
  );
}

const sending = { id: 'e1', status: 'sending' } as EditionRow;

describe('live counts on the desk', () => {
  it('share one ledger count between pages polling at once', async () => {
    let calls = 0;
    const desk = service(() => {
      calls += 1;
      return Promise.resolve(COUNTS);
    });
    const results = await Promise.all([
      desk.withCounts(sending),
      desk.withCounts(sending),
      desk.withCounts(sending),
    ]);
    expect(results.map((r) => r.counts)).toEqual([COUNTS, COUNTS, COUNTS]);
    expect(calls).toBe(1);
  });

  it('count again after a failed count instead of keeping the failure', async () => {
    let calls = 0;
    const desk = service(() => {
      calls += 1;
      return calls === 1 ? Promise.reject(new Error('database gone')) : Promise.resolve(COUNTS);
    });
    await expect(desk.withCounts(sending)).rejects.toThrow('database gone');
    expect((await desk.withCounts(sending)).counts).toEqual(COUNTS);
    expect(calls).toBe(2);
  });

  it('reads a finished edition’s counts from its row', async () => {
    const desk = service(() => Promise.reject(new Error('no ledger read expected')));
    const sent = { id: 'e2', status: 'sent', total: 7, sent: 6, failed: 1, skipped: 0 } as EditionRow;
    expect((await desk.withCounts(sent)).counts).toEqual({
      total: 7,
      sent: 6,
      failed: 1,
      skipped: 0,
      pending: 0,
    });
  });
});
