import type { EditionStatus } from '../database/schema.js';

/**
 * The life of an edition, as rules: draft → scheduled → sending → sent | failed, and cancelled from
 * any state before the end. Preparing and prepared are facts of the sending state (prepared_at),
 * not states of their own. The repository beside this file is the only writer of the status, and
 * the desk and the API offer exactly the actions these rules allow.
 */

/** What an editor may do to an edition. */
export type EditionAction = 'edit' | 'schedule' | 'cancel';

const ACTIONS: Readonly<Record<EditionStatus, readonly EditionAction[]>> = {
  draft: ['edit', 'schedule', 'cancel'],
  scheduled: ['edit', 'schedule', 'cancel'],
  sending: ['cancel'],
  sent: [],
  failed: [],
  cancelled: [],
};

/** The states an edition may be in for an editor to take this action. */
export function statusesAllowing(action: EditionAction): EditionStatus[] {
  return (Object.keys(ACTIONS) as EditionStatus[]).filter((status) => ACTIONS[status].includes(action));
}

export function allows(status: EditionStatus, action: EditionAction): boolean {
  return ACTIONS[status].includes(action);
}

/** Finished editions keep their counts; open ones are still to send or sending. */
export function isFinished(status: EditionStatus): boolean {
  return status === 'sent' || status === 'failed' || status === 'cancelled';
}

/** While an edition sends, its counts live in the ledger; before and after, on its row. */
export function countsInLedger(status: EditionStatus): boolean {
  return status === 'sending';
}

/** Statuses whose counts may still move: a page showing them keeps polling. */
export function countsMayMove(status: EditionStatus): boolean {
  return status === 'scheduled' || status === 'sending';
}
