import { describe, expect, it } from 'vitest';
import { EDITION_STATUSES } from '../database/schema.js';
import { allows, isFinished, statusesAllowing } from './edition-states.js';

describe('edition states', () => {
  it('lets editors change and schedule only what has not started', () => {
    expect(statusesAllowing('edit')).toEqual(['draft', 'scheduled']);
    expect(statusesAllowing('schedule')).toEqual(['draft', 'scheduled']);
  });

  it('lets a send be cancelled until it has finished, and nothing after', () => {
    expect(statusesAllowing('cancel')).toEqual(['draft', 'scheduled', 'sending']);
    for (const status of EDITION_STATUSES) {
      if (isFinished(status)) expect(allows(status, 'cancel'), status).toBe(false);
    }
  });

  it('calls sent, failed and cancelled finished', () => {
    expect(EDITION_STATUSES.filter(isFinished)).toEqual(['sent', 'failed', 'cancelled']);
  });
});
