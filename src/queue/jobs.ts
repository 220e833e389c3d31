/**
 * Every queue, job name and payload of Dépêche, in one place. Processors map each name of their
 * queue to a handler with a type that makes a missing handler a compile error.
 */

import type { ConsentSource, SubscriberTier } from '../database/schema.js';

export const SUBSCRIPTIONS_QUEUE = 'subscriptions';

/** Consent as the form collected it, carried to the worker that records it. */
export interface ConsentEvidence {
  readonly source: ConsentSource;
  readonly at: string;
  readonly ip: string | null;
  readonly userAgent: string | null;
  readonly wording: string;
}

export interface SubscriptionJobs {
  /** A subscribe form or API call: record the pending subscriber and mail the confirmation. */
  'subscribe-request': {
    readonly email: string;
    readonly name: string;
    readonly consent: ConsentEvidence;
  };
  /** Sent once a subscriber confirms, when WELCOME_EMAIL is on. */
  'send-welcome': { readonly subscriberId: string };
}

export type SubscriptionJobName = keyof SubscriptionJobs;

export const MEMBERS_QUEUE = 'members';

export interface MemberJobs {
  /**
   * A reader asked for a sign-in link. Whether the address belongs to a member is decided here, in
   * the worker, so that the answer to the request says nothing about it and takes the same time.
   */
  'sign-in-link': { readonly email: string; readonly next: string };
  /** Tells a member what became of their paid subscription. */
  'member-notice': {
    readonly subscriberId: string;
    readonly notice: MemberNotice;
    /** ISO 8601: until when premium lasts (payment-failed). */
    readonly until?: string;
  };
}

/** `payment-failed`: update your card while premium lasts. `premium-ended`: premium is over. */
export type MemberNotice = 'payment-failed' | 'premium-ended';

export type MemberJobName = keyof MemberJobs;

export const DESK_QUEUE = 'desk';

/** What the desk tells its editors by email. */
export interface DeskJobs {
  /** A member commented: tell the editors, with a link to moderate it. */
  'comment-notice': { readonly commentId: string };
  /** The owner invited someone to the desk: mail them a link to make their account. */
  'editor-invitation': { readonly email: string };
  /** Someone asked to reset a desk password: mail a link if the address has an account. */
  'password-reset': { readonly email: string };
}

export type DeskJobName = keyof DeskJobs;

export const DELIVERY_QUEUE = 'delivery';

export interface DeliveryJobs {
  /**
   * Freeze the audience into the ledger and queue its send batches. `generation` is set when the
   * reconciler queues a preparation again, so that its job id and its batches' are new.
   */
  'prepare-edition': { readonly editionId: string; readonly generation?: string };
  /** Send the ledger rows of one edition whose seq is in [fromSeq, toSeq]. */
  'send-batch': { readonly editionId: string; readonly fromSeq: number; readonly toSeq: number };
  /** One copy of an edition, as a tier sees it, to an editor's address; no ledger row. */
  'send-test': { readonly editionId: string; readonly email: string; readonly tier: SubscriberTier };
}

export type DeliveryJobName = keyof DeliveryJobs;

/** Ledger rows per send-batch job. */
export const SEND_BATCH_SIZE = 500;

export type JobHandlers<Jobs> = { readonly [Name in keyof Jobs]: (payload: Jobs[Name]) => Promise<void> };

/** Completed jobs are dropped by age and count so that Redis memory stays bounded. */
export const DEFAULT_JOB_OPTIONS = {
  attempts: 5,
  backoff: { type: 'exponential', delay: 2000 },
  removeOnComplete: { age: 3600, count: 1000 },
  removeOnFail: { age: 7 * 24 * 3600 },
} as const;

/** Runs a job with its queue's handler; a name without one is an error, never a silent success. */
export async function dispatch<Jobs>(
  handlers: JobHandlers<Jobs>,
  job: { readonly name: string; readonly data: unknown },
  queue: string,
): Promise<void> {
  const handler = (handlers as Record<string, ((payload: unknown) => Promise<void>) | undefined>)[job.name];
  if (!handler) throw new Error(`No handler for job "${job.name}" on queue ${queue}`);
  await handler(job.data);
}
