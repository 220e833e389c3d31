import { type BounceKind, permanentFailureKind } from '../delivery/smtp-outcome.js';
import { readEditionMessageId } from '../mail/copy-identity.js';
import { decodeHeaderWords, type MimePart, parseHeaderBlock, parseMime, textOf, walk } from './mime.js';
import { detailLine } from './detail-line.js';

/** The copy of ours a report quotes: its Message-ID names edition and subscriber. */
export interface QuotedCopy {
  readonly editionId: string;
  readonly subscriberId: string;
}

/** What a message that came back says, read from its content alone. */
export type InboundReport =
  | {
      readonly kind: 'bounce';
      readonly bounce: BounceKind;
      /** The status and the receiving server's words, on one line. */
      readonly detail: string;
      readonly quoted: QuotedCopy | undefined;
    }
  | { readonly kind: 'complaint'; readonly detail: string; readonly quoted: QuotedCopy | undefined }
  | { readonly kind: 'unsubscribe'; readonly token: string }
  /** Nothing to do: an auto-reply, a delay notice, a report of success, anything else. */
  | { readonly kind: 'ignored'; readonly reason: string };

/** The per-message and per-recipient field blocks of a delivery-status or feedback-report part. */
function fieldBlocks(part: MimePart): Map<string, string>[] {
  return textOf(part)
    .split(/\r?\n[ \t]*\r?\n/)
    .map((block) => parseHeaderBlock(block))
    .filter((fields) => fields.size > 0);
}

/** `rfc822; anne@exemple.fr` → the address; `smtp; 550 …` → the text. */
function valueOf(field: string | undefined): string {
  return (field ?? '').replace(/^[\w-]+\s*;\s*/, '').trim();
}

/** Our Message-ID anywhere in the quoted headers or the text of a report. */
function quotedCopy(root: MimePart): QuotedCopy | undefined {
  for (const part of walk(root)) {
    const candidates: string[] = [];
    // The report's own Message-ID is the reporter's; a quoted message's is the copy's.
    const own = part === root ? undefined : part.headers.get('message-id');
    if (own !== undefined) candidates.push(own);
    if (part.type.startsWith('text/') || part.type === 'message/global-headers')
      candidates.push(
        ...[...textOf(part).matchAll(/^message-id:\s*(<[^>\r\n]+>)/gim)].map((match) => match[1] ?? ''),
      );
    for (const candidate of candidates) {
      const copy = readEditionMessageId(candidate);
      if (copy) return copy;
    }
  }
  return undefined;
}

const AUTO_REPLY_SUBJECT =
  /^\s*(auto(matic|matische)?[ -]?(reply|response|antwort)|out of (the )?office|absen(ce|t|te)|r[ée]ponse automatique|abwesenheit|risposta automatica|respuesta autom[aá]tica|vacation|cong[ée]s?)\b/i;

/** RFC 3834's Auto-Submitted, and the older marks of vacation responders. */
function isAutoReply(root: MimePart, subject: string): boolean {
  const submitted = (root.headers.get('auto-submitted') ?? '').toLowerCase();
  if (submitted.startsWith('auto-replied')) return true;
  if (root.headers.has('x-autoreply') || root.headers.has('x-autorespond')) return true;
  if (/auto.?reply|auto_reply/i.test(root.headers.get('precedence') ?? '')) return true;
  if (
    /^(oof|autoreply)$/i.test(root.headers.get('x-auto-response-suppress') ?? '') &&
    AUTO_REPLY_SUBJECT.test(subject)
  )
    return true;
  return AUTO_REPLY_SUBJECT.test(subject) && submitted !== '' && submitted !== 'no';
}

/** RFC 3464: the worst failed recipient decides; delays and successes ask nothing of us. */
function readDeliveryStatus(part: MimePart, quoted: QuotedCopy | undefined): InboundReport {
  const recipients = fieldBlocks(part).filter(
    (fields) => fields.has('action') || fields.has('final-recipient'),
  );
  const failed = recipients.filter((fields) =>
    (fields.get('action') ?? '').toLowerCase().startsWith('failed'),
  );
  if (failed.length === 0) {
    const actions = recipients.map((fields) => (fields.get('action') ?? '?').toLowerCase());
    return {
      kind: 'ignored',
      reason: `delivery status without a failure (${actions.join(', ') || 'no recipient'})`,
    };
  }
  const read = failed.map((fields) => {
    const status = (fields.get('status') ?? '').trim();
    const diagnostic = valueOf(fields.get('diagnostic-code'));
    // A temporary failure the reporting server gave up on (4.x.x) is soft by its nature.
    const bounce: BounceKind = status.startsWith('4') ? 'soft' : permanentFailureKind(diagnostic, status);
    return { bounce, detail: detailLine([status, diagnostic].filter((text) => text !== '').join(' ')) };
  });
  const worst = read.find((entry) => entry.bounce === 'hard') ?? read[0];
  return { kind: 'bounce', bounce: worst?.bounce ?? 'soft', detail: worst?.detail ?? '', quoted };
}

/** RFC 5965: an abuse report (someone pressed "spam") is a complaint; other feedback types are not. */
function readFeedbackReport(part: MimePart, quoted: QuotedCopy | undefined): InboundReport {
  const fields = fieldBlocks(part)[0] ?? new Map<string, string>();
  const type = (fields.get('feedback-type') ?? '').toLowerCase();
  if (type !== 'abuse' && type !== 'fraud' && type !== 'virus' && type !== 'other')
    return { kind: 'ignored', reason: `feedback report of type "${type || 'none'}"` };
  const agent = fields.get('user-agent');
  return { kind: 'complaint', detail: detailLine(`${type}${agent ? ` (${agent})` : ''}`), quoted };
}

const BOUNCE_SENDER = /^(.*<)?\s*(mailer-daemon|postmaster|mail(er)?[-_.]?(delivery|system)|bounce[s]?)@/i;
const BOUNCE_SUBJECT =
  /undeliver|returned mail|delivery (status notification|failure|has failed)|failure notice|mail delivery failed|could not be delivered|non remis|non distribuable|[ée]chec de (la )?(remise|distribution)|unzustellbar/i;
const GAVE_UP =
  /permanent(ly)?\b|given up|unable to deliver|could not be delivered|failed permanently|n'a pas pu [êe]tre (remis|distribu)/i;

/**
 * Bounces that are not RFC 3464 reports (qmail, old Exim, Yahoo's "Failure Notice"): a mail
 * system's message that gave up, with the receiving server's reply in its words. A notice that the
 * system is still trying is not a bounce.
 */
function readPlainBounce(
  root: MimePart,
  subject: string,
  quoted: QuotedCopy | undefined,
): InboundReport | undefined {
  const from = decodeHeaderWords(root.headers.get('from') ?? '');
  if (!BOUNCE_SENDER.test(from) && !BOUNCE_SUBJECT.test(subject)) return undefined;
  const text = [...walk(root)]
    .filter((part) => part.type === 'text/plain' && part.children.length === 0)
    .slice(0, 1)
    .map(textOf)
    .join('\n');
  // The reply quoted above the copy of the message: never the copy's own text.
  // A notice is a few lines: only its head is read, and by patterns that cannot backtrack far, so a
  // hostile message of one endless line costs no more than its size.
  const head = text.slice(0, NOTICE_CHARS);
  const notice =
    head.split(/^-{2,}[^-\r\n][^\r\n]*?(?:copy of|original message|below this line)|^Return-Path:/im)[0] ??
    head;
  const reply = /\b(5\d\d)[ :-]\s?(?:(\d\.\d{1,3}\.\d{1,3})\b)?[^\r\n]*(?:\r?\n[ \t]+[^\r\n]*)*/.exec(notice);
  if (!reply && !GAVE_UP.test(notice))
    return { kind: 'ignored', reason: 'mail system notice without a failure' };
  if (!reply && /still (being )?(retried|trying)|will (continue|keep) trying|delayed/i.test(notice))
    return { kind: 'ignored', reason: 'delay notice' };
  const detail = detailLine(reply?.[0] ?? notice.split(/\r?\n/).find((line) => GAVE_UP.test(line)) ?? '');
  return { kind: 'bounce', bounce: permanentFailureKind(detail), detail, quoted };
}

/** How much of a mail system's plain notice is read for the server's reply. */
const NOTICE_CHARS = 16_384;

const MANAGE_TOKEN = /[A-Za-z0-9_-]{22}\.(?:[0-9a-f]{64}|[A-Za-z0-9_-]{43})(?![\w-])/;

/** A mailed unsubscribe: the token from the mailto's subject, or from the body if the subject lost it. */
function readUnsubscribe(root: MimePart, subject: string): InboundReport {
  const inSubject = MANAGE_TOKEN.exec(subject)?.[0];
  if (inSubject !== undefined) return { kind: 'unsubscribe', token: inSubject };
  const body = [...walk(root)].find((part) => part.type === 'text/plain' && part.children.length === 0);
  const inBody = body ? MANAGE_TOKEN.exec(textOf(body).slice(0, 10_000))?.[0] : undefined;
  return inBody === undefined
    ? { kind: 'ignored', reason: 'unsubscribe mail without a token' }
    : { kind: 'unsubscribe', token: inBody };
}

/**
 * Reads a message the listener took: for the unsubscribe box, a mailed unsubscribe; for the bounce
 * addresses, a delivery status notification (RFC 3464, or a mail system's plain notice), a
 * complaint (RFC 5965), or an auto-reply, which is ignored. What it says is checked against the
 * database by the caller; nothing here trusts it.
 */
export function readInboundReport(raw: Buffer, box: 'bounces' | 'unsubscribe'): InboundReport {
  const root = parseMime(raw);
  const subject = decodeHeaderWords(root.headers.get('subject') ?? '');
  const reportType = (root.params['report-type'] ?? '').toLowerCase();
  const isReport = root.type === 'multipart/report';
  if (box === 'unsubscribe') {
    if (isReport) return { kind: 'ignored', reason: 'report sent to the unsubscribe address' };
    if ((root.headers.get('auto-submitted') ?? '').toLowerCase().startsWith('auto-replied'))
      return { kind: 'ignored', reason: 'auto-reply' };
    return readUnsubscribe(root, subject);
  }
  const quoted = quotedCopy(root);
  const parts = [...walk(root)];
  const status = parts.find(
    (part) => part.type === 'message/delivery-status' || part.type === 'message/global-delivery-status',
  );
  if (status && (!isReport || reportType === '' || reportType.endsWith('delivery-status')))
    return readDeliveryStatus(status, quoted);
  const feedback = parts.find((part) => part.type === 'message/feedback-report');
  if (feedback) return readFeedbackReport(feedback, quoted);
  // Mail systems mark their notices Auto-Submitted too: a bounce is read as one before that mark counts.
  const plain = AUTO_REPLY_SUBJECT.test(subject) ? undefined : readPlainBounce(root, subject, quoted);
  if (plain) return plain;
  if (isAutoReply(root, subject)) return { kind: 'ignored', reason: 'auto-reply' };
  return { kind: 'ignored', reason: 'neither a report nor a bounce' };
}
