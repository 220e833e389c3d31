import { describe, expect, it } from 'vitest';
import { formatPublicationTime, parsePublicationTime } from './publication-time.js';

describe('parsePublicationTime', () => {
  it('takes an explicit offset as given', () => {
    expect(parsePublicationTime('2026-11-24T18:00:00Z', 'Europe/Paris')?.toISOString()).toBe(
      '2026-11-24T18:00:00.000Z',
    );
    expect(parsePublicationTime('2026-11-24T18:00:00+05:30', 'Europe/Paris')?.toISOString()).toBe(
      '2026-11-24T12:30:00.000Z',
    );
  });

  it('reads a time without offset in the publication time zone, summer and winter', () => {
    expect(parsePublicationTime('2026-11-24T18:00', 'Europe/Paris')?.toISOString()).toBe(
      '2026-11-24T17:00:00.000Z',
    );
    expect(parsePublicationTime('2026-07-01 18:00:00', 'Europe/Paris')?.toISOString()).toBe(
      '2026-07-01T16:00:00.000Z',
    );
    expect(parsePublicationTime('2026-07-01T18:00', 'America/New_York')?.toISOString()).toBe(
      '2026-07-01T22:00:00.000Z',
    );
  });

  it('refuses what is not a real date-time', () => {
    for (const bad of [
      '2026-02-30T10:00',
      '2026-11-24T25:00',
      'tomorrow',
      '',
      '24/11/2026',
      '2026-11-24T18:00+99:99',
    ]) {
      expect(parsePublicationTime(bad, 'Europe/Paris'), bad).toBeUndefined();
    }
  });
});

describe('formatPublicationTime', () => {
  // Away from the hour that autumn's change repeats, which no wall-clock time can name alone.
  it('shows an instant on the zone’s wall clock, summer and winter, and reads back the same', () => {
    expect(formatPublicationTime(new Date('2026-07-01T16:00:00Z'), 'Europe/Paris')).toBe(
      '2026-07-01T18:00:00',
    );
    expect(formatPublicationTime(new Date('2026-12-01T23:30:05Z'), 'Europe/Paris')).toBe(
      '2026-12-02T00:30:05',
    );
    for (const iso of ['2026-03-29T01:59:59Z', '2026-03-29T02:00:00Z', '2026-10-25T03:30:00Z']) {
      const instant = new Date(iso);
      expect(parsePublicationTime(formatPublicationTime(instant, 'Europe/Paris'), 'Europe/Paris')).toEqual(
        instant,
      );
    }
  });
});
