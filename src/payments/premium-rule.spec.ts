import { describe, expect, it } from 'vitest';
import { premiumGrant } from './premium-rule.js';

const now = new Date('2026-11-27T12:00:00Z');
const days = (n: number): Date => new Date(now.getTime() + n * 24 * 3600 * 1000);

describe('premiumGrant', () => {
  it('grants an active or trialing subscription without end, or until the cancelled period ends', () => {
    for (const status of ['active', 'trialing']) {
      expect(premiumGrant({ status, endsAt: null, pastDueSince: null, refundedAt: null }, 7, now)).toEqual({
        grants: true,
        until: null,
      });
      expect(premiumGrant({ status, endsAt: days(3), pastDueSince: null, refundedAt: null }, 7, now)).toEqual(
        {
          grants: true,
          until: days(3),
        },
      );
      expect(
        premiumGrant({ status, endsAt: days(-1), pastDueSince: null, refundedAt: null }, 7, now).grants,
      ).toBe(false);
    }
  });

  it('grants a past-due subscription for the grace period after the first failure, and no longer', () => {
    expect(
      premiumGrant({ status: 'past_due', endsAt: null, pastDueSince: days(-2), refundedAt: null }, 7, now),
    ).toEqual({
      grants: true,
      until: days(5),
    });
    expect(
      premiumGrant({ status: 'past_due', endsAt: null, pastDueSince: days(-8), refundedAt: null }, 7, now)
        .grants,
    ).toBe(false);
    expect(
      premiumGrant({ status: 'past_due', endsAt: null, pastDueSince: now, refundedAt: null }, 0, now).grants,
    ).toBe(false);
    // A cancellation that comes first ends it first.
    expect(
      premiumGrant({ status: 'past_due', endsAt: days(1), pastDueSince: now, refundedAt: null }, 7, now)
        .until,
    ).toEqual(days(1));
  });

  it('grants nothing for a cancelled, unpaid, incomplete or paused subscription, or one it does not know', () => {
    for (const status of ['canceled', 'unpaid', 'incomplete', 'incomplete_expired', 'paused', 'new_state'])
      expect(
        premiumGrant({ status, endsAt: days(30), pastDueSince: null, refundedAt: null }, 7, now),
      ).toEqual({
        grants: false,
        until: null,
      });
  });

  it('grants nothing once the payment was refunded in full, whatever the subscription says', () => {
    for (const status of ['active', 'trialing', 'past_due'])
      expect(premiumGrant({ status, endsAt: null, pastDueSince: now, refundedAt: days(-1) }, 7, now)).toEqual(
        {
          grants: false,
          until: null,
        },
      );
  });
});
