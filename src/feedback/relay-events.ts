import { createHmac, createPublicKey, timingSafeEqual, verify } from 'node:crypto';
import type { MessageEventKind } from '../database/schema.js';
import { permanentFailureKind } from '../delivery/smtp-outcome.js';
import { detailLine } from './detail-line.js';

/**
 * What the sending relays' webhooks report, read into one shape: Amazon SES (through SNS),
 * Postmark, Mailgun and SendGrid each name the recipient's address, often our Message-ID, and
 * their own id for the event. Reading never throws on a payload of the wrong shape: what cannot be
 * read is left out. Signatures are checked before anything here is read.
 */
export interface RelayEvent {
  readonly kind: MessageEventKind;
  readonly email: string;
  /** Our Message-ID as the relay reports it, when it does. */
  readonly messageId: string | undefined;
  readonly detail: string;
  /** The relay's id for the event: delivered twice, it counts once. */
  readonly eventId: string;
}

type Json = Record<string, unknown>;

function object(value: unknown): Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Json) : {};
}

function text(value: unknown): string {
  return typeof value === 'string' ? value : typeof value === 'number' ? String(value) : '';
}

function list(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}

function bounceKind(hard: boolean): MessageEventKind {
  return hard ? 'hard-bounce' : 'soft-bounce';
}

// ---- Amazon SES, through SNS ------------------------------------------------------------------

/** SES's permanent bounces that are the address's: the rest (mailbox full, content) are soft. */
const SES_HARD_SUBTYPES = new Set(['General', 'NoEmail', 'Suppressed', 'OnAccountSuppressionList']);

/** An SES notification (the Message of an SNS notification), whether notification or event publishing. */
export function readSesNotification(message: unknown): RelayEvent[] {
  const body = object(message);
  const type = text(body['notificationType']) || text(body['eventType']);
  const mail = object(body['mail']);
  const messageId = text(object(mail['commonHeaders'])['messageId']) || undefined;
  if (type === 'Bounce') {
    const bounce = object(body['bounce']);
    const bounceType = text(bounce['bounceType']);
    const subType = text(bounce['bounceSubType']);
    const permanent = bounceType === 'Permanent';
    return list(bounce['bouncedRecipients']).flatMap((entry) => {
      const recipient = object(entry);
      const email = text(recipient['emailAddress']);
      if (email === '') return [];
      const diagnostic = text(recipient['diagnosticCode']);
      const status = text(recipient['status']);
      const hard =
        permanent && SES_HARD_SUBTYPES.has(subType) && permanentFailureKind(diagnostic, status) === 'hard';
      return [
        {
          kind: bounceKind(hard),
          email,
          messageId,
          detail: detailLine(`${bounceType}/${subType} ${status} ${diagnostic}`),
          eventId: `${text(bounce['feedbackId'])}:${email}`,
        },
      ];
    });
  }
  if (type === 'Complaint') {
    const complaint = object(body['complaint']);
    const feedbackType = text(complaint['complaintFeedbackType']);
    // A recipient who marked the message "not spam" is not complaining.
    if (feedbackType === 'not-spam') return [];
    return list(complaint['complainedRecipients']).flatMap((entry) => {
      const email = text(object(entry)['emailAddress']);
      if (email === '') return [];
      return [
        {
          kind: 'complaint' as const,
          email,
          messageId,
          detail: detailLine(`${feedbackType || 'abuse'} (Amazon SES)`),
          eventId: `${text(complaint['feedbackId'])}:${email}`,
        },
      ];
    });
  }
  return [];
}

/** The fields of an SNS message its signature covers, in the order SNS signs them. */
const SNS_SIGNED_FIELDS: Record<string, readonly string[]> = {
  Notification: ['Message', 'MessageId', 'Subject', 'Timestamp', 'TopicArn', 'Type'],
  SubscriptionConfirmation: [
    'Message',
    'MessageId',
    'SubscribeURL',
    'Timestamp',
    'Token',
    'TopicArn',
    'Type',
  ],
  UnsubscribeConfirmation: ['Message', 'MessageId', 'SubscribeURL', 'Timestamp', 'Token', 'TopicArn', 'Type'],
};

/** The text SNS signed for a message, or undefined for a message type SNS does not send. */
export function snsStringToSign(message: Json): string | undefined {
  const fields = SNS_SIGNED_FIELDS[text(message['Type'])];
  if (!fields) return undefined;
  return fields
    .filter((field) => typeof message[field] === 'string')
    .map((field) => `${field}\n${text(message[field])}\n`)
    .join('');
}

/** Whether the certificate signed this SNS message (SignatureVersion 1: SHA1, 2: SHA256). */
export function snsSignatureValid(message: Json, certificatePem: string): boolean {
  const signed = snsStringToSign(message);
  const version = text(message['SignatureVersion']);
  const algorithm = version === '1' ? 'sha1' : version === '2' ? 'sha256' : undefined;
  if (signed === undefined || algorithm === undefined) return false;
  try {
    return verify(
      algorithm,
      Buffer.from(signed, 'utf8'),
      certificatePem,
      Buffer.from(text(message['Signature']), 'base64'),
    );
  } catch {
    return false;
  }
}

/** SNS's own hosts: a certificate or a subscription URL anywhere else is not SNS's. */
export function isSnsUrl(url: string, extraOrigin: string | undefined): boolean {
  if (!URL.canParse(url)) return false;
  const parsed = new URL(url);
  if (extraOrigin !== undefined && parsed.origin === new URL(extraOrigin).origin) return true;
  return parsed.protocol === 'https:' && /^sns\.[a-z0-9-]+\.amazonaws\.com(\.cn)?$/.test(parsed.hostname);
}

// ---- Postmark -------------------------------------------------------------------------------------

const POSTMARK_HARD = new Set(['HardBounce', 'BadEmailAddress', 'ManuallyDeactivated']);
const POSTMARK_SOFT = new Set([
  'SoftBounce',
  'DnsError',
  'Blocked',
  'DMARCPolicy',
  'VirusNotification',
  'SpamNotification',
]);

/** One Postmark webhook call: a bounce, a spam complaint, or a subscription change. */
export function readPostmark(payload: unknown): RelayEvent[] {
  const body = object(payload);
  const record = text(body['RecordType']);
  const messageId = undefined; // Postmark reports its own id, never ours.
  if (record === 'Bounce' || record === 'SpamComplaint') {
    const type = text(body['Type']);
    const email = text(body['Email']);
    const eventId = `postmark:${text(body['ID'])}`;
    const detail = detailLine(`${type}: ${text(body['Description'])} ${text(body['Details'])}`);
    if (email === '') return [];
    if (record === 'SpamComplaint' || type === 'SpamComplaint')
      return [{ kind: 'complaint', email, messageId, detail, eventId }];
    if (type === 'Unsubscribe') return [{ kind: 'unsubscribe', email, messageId, detail, eventId }];
    if (POSTMARK_HARD.has(type)) return [{ kind: 'hard-bounce', email, messageId, detail, eventId }];
    if (POSTMARK_SOFT.has(type)) return [{ kind: 'soft-bounce', email, messageId, detail, eventId }];
    return []; // Transient (still trying), AutoResponder, Subscribe, and the like.
  }
  if (record === 'SubscriptionChange' && body['SuppressSending'] === true) {
    const email = text(body['Recipient']);
    const reason = text(body['SuppressionReason']);
    const eventId = `postmark:${text(body['MessageID'])}:${text(body['ChangedAt'])}`;
    const kind: MessageEventKind | undefined =
      reason === 'ManualSuppression'
        ? 'unsubscribe'
        : reason === 'SpamComplaint'
          ? 'complaint'
          : reason === 'HardBounce'
            ? 'hard-bounce'
            : undefined;
    return email === '' || kind === undefined
      ? []
      : [{ kind, email, messageId, detail: `suppressed: ${reason}`, eventId }];
  }
  return [];
}

/** Postmark's basic auth, compared in constant time. */
export function basicAuthValid(header: string | undefined, user: string, password: string): boolean {
  const match = /^Basic\s+([A-Za-z0-9+/=]+)$/i.exec(header ?? '');
  if (!match?.[1]) return false;
  const given = Buffer.from(match[1], 'base64');
  const expected = Buffer.from(`${user}:${password}`, 'utf8');
  return given.length === expected.length && timingSafeEqual(given, expected);
}

// ---- Mailgun --------------------------------------------------------------------------------------

/** Mailgun signs timestamp and token with the webhook signing key (HMAC-SHA256, hex). */
/**
 * How far a relay's signed timestamp may be from now: a request captured and sent again later
 * (a replay) is refused, however well signed. Five minutes, as Stripe allows.
 */
export const SIGNATURE_TOLERANCE_SECONDS = 300;

/** Whether a signed Unix timestamp (seconds) is within the tolerance of `now`. */
export function signedRecently(timestamp: string, now: Date = new Date()): boolean {
  if (!/^\d{1,12}$/.test(timestamp)) return false;
  return Math.abs(now.getTime() / 1000 - Number(timestamp)) <= SIGNATURE_TOLERANCE_SECONDS;
}

export function mailgunSignatureValid(payload: unknown, signingKey: string, now: Date = new Date()): boolean {
  const signature = object(object(payload)['signature']);
  const [timestamp, token, given] = [
    text(signature['timestamp']),
    text(signature['token']),
    text(signature['signature']),
  ];
  if (!signedRecently(timestamp, now) || token === '' || !/^[0-9a-f]{64}$/i.test(given)) return false;
  const expected = createHmac('sha256', signingKey)
    .update(timestamp + token)
    .digest();
  return timingSafeEqual(expected, Buffer.from(given, 'hex'));
}

export function readMailgun(payload: unknown): RelayEvent[] {
  const data = object(object(payload)['event-data']);
  const event = text(data['event']);
  const email = text(data['recipient']);
  const eventId = `mailgun:${text(data['id'])}`;
  const headerId = text(object(object(data['message'])['headers'])['message-id']);
  const messageId = headerId === '' ? undefined : headerId;
  if (email === '') return [];
  if (event === 'failed') {
    // Temporary failures are Mailgun still trying; a permanent one is its last word.
    if (text(data['severity']) !== 'permanent') return [];
    const status = object(data['delivery-status']);
    const words = `${text(status['code'])} ${text(status['enhanced-code'])} ${text(status['message'])} ${text(status['description'])}`;
    const reason = text(data['reason']);
    const hard =
      reason === 'suppress-bounce' || permanentFailureKind(words, text(status['enhanced-code'])) === 'hard';
    return [{ kind: bounceKind(hard), email, messageId, detail: detailLine(`${reason} ${words}`), eventId }];
  }
  if (event === 'complained')
    return [{ kind: 'complaint', email, messageId, detail: 'complained (Mailgun)', eventId }];
  if (event === 'unsubscribed')
    return [{ kind: 'unsubscribe', email, messageId, detail: 'unsubscribed (Mailgun)', eventId }];
  return [];
}

// ---- SendGrid -------------------------------------------------------------------------------------

/** SendGrid signs the timestamp and the raw body with ECDSA P-256 over SHA-256 (signature in base64 DER). */
export function sendgridSignatureValid(
  publicKeyBase64: string,
  timestamp: string | undefined,
  rawBody: string,
  signature: string | undefined,
  now: Date = new Date(),
): boolean {
  if (
    timestamp === undefined ||
    signature === undefined ||
    !signedRecently(timestamp, now) ||
    signature === ''
  )
    return false;
  try {
    const key = createPublicKey({ key: Buffer.from(publicKeyBase64, 'base64'), format: 'der', type: 'spki' });
    return verify('sha256', Buffer.from(timestamp + rawBody, 'utf8'), key, Buffer.from(signature, 'base64'));
  } catch {
    return false;
  }
}

export function readSendgrid(payload: unknown): RelayEvent[] {
  return list(payload).flatMap((entry): RelayEvent[] => {
    const event = object(entry);
    const kind = text(event['event']);
    const email = text(event['email']);
    const eventId = `sendgrid:${text(event['sg_event_id'])}`;
    const smtpId = text(event['smtp-id']);
    const messageId = smtpId === '' ? undefined : smtpId;
    if (email === '') return [];
    if (kind === 'bounce') {
      const status = text(event['status']);
      const reason = text(event['reason']);
      // "blocked" is SendGrid's word for a refusal about the message or the sender, not the address.
      const hard = text(event['type']) !== 'blocked' && permanentFailureKind(reason, status) === 'hard';
      return [
        { kind: bounceKind(hard), email, messageId, detail: detailLine(`${status} ${reason}`), eventId },
      ];
    }
    if (kind === 'spamreport')
      return [{ kind: 'complaint', email, messageId, detail: 'spamreport (SendGrid)', eventId }];
    if (kind === 'unsubscribe' || kind === 'group_unsubscribe')
      return [{ kind: 'unsubscribe', email, messageId, detail: `${kind} (SendGrid)`, eventId }];
    return []; // delivered, deferred, dropped, opens and clicks are not ours to act on
  });
}
