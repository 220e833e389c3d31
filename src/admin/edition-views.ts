import type { EditionRow, SubscriberTier } from '../database/schema.js';
import type { DeliveryCounts } from '../delivery/deliveries.repository.js';
import { allows, countsMayMove } from '../edition-lifecycle/edition-states.js';
import type { EditionPreview } from '../editions/editions.service.js';
import { many, one } from './desk-http.js';

/**
 * What the desk's edition pages show, built from rows: the controller fetches and answers, these
 * shape. Field names follow the form and the templates.
 */

/** The edition form as the editor filled it in, or empty for a new edition. */
export interface EditionFormValues {
  readonly subject: string;
  readonly preheader: string;
  readonly audience: string;
  readonly article_ids: readonly string[];
}

export const EMPTY_EDITION_FORM: EditionFormValues = {
  subject: '',
  preheader: '',
  audience: 'all',
  article_ids: [],
};

/**
 * The chosen articles in the order the editor numbered them (`position_<id>`: 1 is the lead story);
 * those left unnumbered follow, in the order of the list.
 */
function orderedArticleIds(form: Record<string, unknown>): string[] {
  const position = (id: string): number => {
    const raw = (one(form[`position_${id}`]) ?? '').trim();
    return /^\d{1,3}$/.test(raw) ? Number(raw) : Number.POSITIVE_INFINITY;
  };
  return many(form.article_ids)
    .map((id, index) => ({ id, index, at: position(id) }))
    .sort((a, b) => a.at - b.at || a.index - b.index)
    .map((entry) => entry.id);
}

/** The posted form; the edition page posts no articles, so they come from the stored edition. */
export function editionFormValues(
  form: Record<string, unknown>,
  storedArticleIds?: readonly string[],
): EditionFormValues {
  return {
    subject: one(form.subject) ?? '',
    preheader: one(form.preheader) ?? '',
    audience: one(form.audience) ?? 'all',
    article_ids: storedArticleIds ?? orderedArticleIds(form),
  };
}

/** The same values as the API's DTO takes them. */
export function editionInput(values: EditionFormValues): object {
  return { ...values, article_ids: [...values.article_ids] };
}

function percent(part: number, whole: number): number {
  return whole === 0 ? 0 : Math.round((part / whole) * 1000) / 10;
}

/** The progress bar's figures: sent, failed and skipped as shares of the total. */
export function progressView(edition: EditionRow, counts: DeliveryCounts): object {
  const done = counts.sent + counts.failed + counts.skipped;
  return {
    edition,
    counts,
    done,
    remaining: Math.max(0, counts.total - done),
    percentDone: percent(done, counts.total),
    sentPct: percent(counts.sent, counts.total),
    failedPct: percent(counts.failed, counts.total),
    skippedPct: percent(counts.skipped, counts.total),
    live: countsMayMove(edition.status),
    finished: edition.finishedAt !== null,
  };
}

/**
 * The status the desk shows: an edition whose time has come is sending, as far as its editor is
 * concerned, from the moment "send now" is pressed rather than from the next tick.
 */
export function shownStatus(edition: Pick<EditionRow, 'status' | 'scheduledAt'>, now = Date.now()): string {
  const due =
    edition.status === 'scheduled' && edition.scheduledAt !== null && edition.scheduledAt.getTime() <= now;
  return due ? 'sending' : edition.status;
}

/** The buttons the edition page offers, as the lifecycle allows them; none to send what is sending. */
/** What the edition page offers: what its status allows, and whether it is still a draft. */
export interface EditionActions {
  readonly editable: boolean;
  readonly schedulable: boolean;
  readonly cancellable: boolean;
  readonly draft: boolean;
}

export function editionActions(edition: EditionRow, now = Date.now()): EditionActions {
  const starting = shownStatus(edition, now) !== edition.status;
  return {
    editable: allows(edition.status, 'edit') && !starting,
    schedulable: allows(edition.status, 'schedule') && !starting,
    cancellable: allows(edition.status, 'cancel'),
    draft: edition.status === 'draft',
  };
}

/** One tier's preview frame and the size of its email, with Gmail's clipping flagged. */
export function previewSummary(editionId: string, tier: SubscriberTier, preview: EditionPreview): object {
  return {
    tier,
    url: `/admin/editions/${editionId}/preview/${tier}`,
    size: Math.round(preview.htmlBytes / 1024),
    clipped: preview.warning !== null,
  };
}
