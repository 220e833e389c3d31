/** What a paid subscription's state means for its member's tier. */
export interface PremiumGrant {
  /** Whether it makes its subscriber premium now. */
  readonly grants: boolean;
  /** When it stops doing so without further news from Stripe; null: not on its own. */
  readonly until: Date | null;
}

export interface PaidState {
  readonly status: string;
  /** When the member's cancellation takes effect, if they cancelled. */
  readonly endsAt: Date | null;
  /** Since when a payment has been failing, for a past-due subscription. */
  readonly pastDueSince: Date | null;
  /** When the member's payment was refunded in full, if it was and nothing was paid since. */
  readonly refundedAt: Date | null;
}

const DAY_MS = 24 * 3600 * 1000;

/**
 * THE rule from a subscription to premium. Active or trialing: premium (until the end of the period
 * its member cancelled, if they did). Past due: premium for the grace period after the first
 * failed payment, for the member to update their card. Refunded in full: not premium, whatever
 * the subscription says, until a new payment. Anything else (cancelled, unpaid, incomplete,
 * paused): not premium.
 */
export function premiumGrant(state: PaidState, graceDays: number, now: Date): PremiumGrant {
  if (state.refundedAt !== null) return { grants: false, until: null };
  switch (state.status) {
    case 'active':
    case 'trialing':
      return state.endsAt
        ? { grants: state.endsAt > now, until: state.endsAt }
        : { grants: true, until: null };
    case 'past_due': {
      const graceEnd = new Date((state.pastDueSince ?? now).getTime() + graceDays * DAY_MS);
      const until = state.endsAt && state.endsAt < graceEnd ? state.endsAt : graceEnd;
      return { grants: until > now, until };
    }
    default:
      return { grants: false, until: null };
  }
}
