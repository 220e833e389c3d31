import { describe, expect, it } from 'vitest';
import type { EditionRow } from '../database/schema.js';
import { editionActions, shownStatus } from './edition-views.js';

const NOW = Date.parse('2026-11-28T10:00:00Z');

function edition(status: EditionRow['status'], scheduledAt: string | null): EditionRow {
  return { status, scheduledAt: scheduledAt === null ? null : new Date(scheduledAt) } as EditionRow;
}

describe('an edition as the desk shows it', () => {
  it('is sending from the moment its time has come, before the tick takes it', () => {
    expect(shownStatus(edition('scheduled', '2026-11-28T09:59:59Z'), NOW)).toBe('sending');
    expect(shownStatus(edition('scheduled', '2026-11-28T10:00:00Z'), NOW)).toBe('sending');
    expect(shownStatus(edition('scheduled', '2026-11-28T10:00:01Z'), NOW)).toBe('scheduled');
    expect(shownStatus(edition('sent', '2026-11-28T09:00:00Z'), NOW)).toBe('sent');
    expect(shownStatus(edition('draft', null), NOW)).toBe('draft');
  });

  it('offers no way to send or edit what is starting, and still lets it be cancelled', () => {
    expect(editionActions(edition('scheduled', '2026-11-28T09:59:59Z'), NOW)).toMatchObject({
      schedulable: false,
      editable: false,
      cancellable: true,
    });
    expect(editionActions(edition('scheduled', '2026-12-01T09:00:00Z'), NOW)).toMatchObject({
      schedulable: true,
      cancellable: true,
    });
  });
});
