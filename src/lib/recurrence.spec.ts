import { describe, expect, it } from 'vitest';
import { cronProblem, nextSlot, nextSlots } from './recurrence.js';

const sundayEvening = { cron: '0 18 * * 0', timeZone: 'Europe/Paris' };

describe('recurrence', () => {
  it('reads the cron expression as wall-clock time in its zone, across daylight-saving changes', () => {
    expect(nextSlots(sundayEvening, new Date('2026-03-20T00:00:00Z'), 3).map((d) => d.toISOString())).toEqual(
      [
        '2026-03-22T17:00:00.000Z', // CET
        '2026-03-29T16:00:00.000Z', // CEST from that morning
        '2026-04-05T16:00:00.000Z',
      ],
    );
    expect(
      nextSlot({ ...sundayEvening, timeZone: 'America/New_York' }, new Date('2026-11-24T00:00:00Z')),
    ).toEqual(new Date('2026-11-29T23:00:00Z'));
  });

  it('gives the slot strictly after the instant, so a slot just run is not run again', () => {
    expect(nextSlot(sundayEvening, new Date('2026-03-22T17:00:00Z'))).toEqual(
      new Date('2026-03-29T16:00:00Z'),
    );
  });

  it('accepts five fields and macros, and says what is wrong with anything else', () => {
    expect(cronProblem('0 18 * * 0', 'Europe/Paris')).toBeUndefined();
    expect(cronProblem('@weekly', 'UTC')).toBeUndefined();
    expect(cronProblem('30 7 * * MON-FRI', 'UTC')).toBeUndefined();
    expect(cronProblem('0 0 18 * * 0', 'UTC')).toMatch(/expected five fields .* got 6/);
    expect(cronProblem('tous les dimanches', 'UTC')).toMatch(/expected five fields/);
    expect(cronProblem('61 18 * * 0', 'UTC')).toMatch(/not a valid cron expression.*0-59/);
    expect(cronProblem('0 0 30 2 *', 'UTC')).toMatch(/not a valid cron expression/);
  });
});
