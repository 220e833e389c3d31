import { SUBSCRIBER_TIERS, type SubscriberTier } from '../database/schema.js';
import { InvalidInputException } from '../http/api-error.js';
import { normaliseEmail } from '../lib/email-address.js';

/** Dépêche's own columns: any other in a file of ours refuses it, so that a typo is not lost data. */
export const IMPORT_COLUMNS = ['email', 'name', 'tier'] as const;

/** The exports Dépêche recognises by their header, besides its own. */
export const IMPORT_FORMATS = ['depeche', 'substack', 'ghost', 'mailchimp', 'listmonk'] as const;
export type ImportFormat = (typeof IMPORT_FORMATS)[number];

/** A subscriber as a line of a file gives it, checked. */
export interface ImportedSubscriber {
  readonly line: number;
  readonly email: string;
  readonly name: string;
  readonly tier: SubscriberTier;
  /** When and where they gave their consent, as the platform they come from recorded it. */
  readonly consentAt?: Date;
  readonly consentIp?: string;
  readonly confirmedAt?: Date;
}

/** Why a line was refused: in English, and as a code for the desk to word. */
export interface LineProblem {
  readonly reason: string;
  readonly code: 'malformed' | 'column-count' | 'email' | 'one-line' | 'name' | 'tier' | 'consent-date';
  readonly limit?: number;
}

/**
 * What a line is worth: a subscriber, a problem, or `not-subscribed` for a person the platform
 * lists but who left or never agreed to its emails (they are skipped, never made subscribers).
 */
export type LineReading = ImportedSubscriber | LineProblem | 'not-subscribed';

/** How to read the lines of one file, decided by its header. */
export interface ImportLayout {
  readonly format: ImportFormat;
  /** The header's column names, lower-cased: every line has as many fields. */
  readonly columns: readonly string[];
  read(record: readonly string[], line: number): LineReading;
}

// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;
const NAME_MAX = 100;
const TRUE = new Set(['true', 'yes', 'oui', '1']);

/**
 * A date as the platforms write them: ISO 8601, "2019-03-08 13:45:12" (Mailchimp, in UTC), or
 * PostgreSQL's "2023-09-12 08:30:00.123456+02" (listmonk). Empty is no date; a date that is no
 * date, or one in the future, is a problem.
 */
function exportDate(text: string): Date | undefined | 'invalid' {
  const value = text.trim();
  if (value === '') return undefined;
  // JavaScript reads "le 3 mars" as a date of 2001: only a date that starts as ISO's does is one.
  if (!/^\d{4}-\d{2}-\d{2}(?:$|[T ])/.test(value)) return 'invalid';
  const dated = value.replace(/^(\d{4}-\d{2}-\d{2}) (\d{2}:)/, '$1T$2');
  // An offset after a time, in full ("+02:00"), as JavaScript reads it; a time without one is UTC.
  const iso = dated.includes('T')
    ? dated.replace(/(T[\d:.]+[+-]\d{2})$/, '$1:00').replace(/(T[\d:.]+[+-]\d{2})(\d{2})$/, '$1:$2')
    : dated;
  const zoned = !iso.includes('T') || /(?:Z|[+-]\d{2}:\d{2})$/.test(iso);
  const date = new Date(zoned ? iso : `${iso}Z`);
  if (Number.isNaN(date.getTime()) || date.getTime() > Date.now() + 24 * 3600 * 1000) return 'invalid';
  return date;
}

/** The address and name every format has, checked the same way. */
function person(email: string, name: string): { email: string; name: string } | LineProblem {
  const address = normaliseEmail(email);
  if (!address.ok)
    return { reason: `email ${address.reason}`, code: address.code === 'email' ? 'email' : 'one-line' };
  const trimmed = name.trim();
  if (CONTROL.test(trimmed))
    return { reason: 'name must be one line without control characters', code: 'one-line' };
  if (trimmed.length > NAME_MAX)
    return { reason: `name must be at most ${NAME_MAX} characters`, code: 'name' };
  return { email: address.email, name: trimmed };
}

type Field = (name: string) => string;

/** What one platform's export means: when its header is one, and what each line says. */
interface ForeignFormat {
  readonly format: Exclude<ImportFormat, 'depeche'>;
  readonly recognise: (names: ReadonlySet<string>) => boolean;
  readonly read: (field: Field) => {
    readonly email: string;
    readonly name: string;
    readonly tier: SubscriberTier;
    readonly subscribed: boolean;
    readonly consentAt: string;
    readonly consentIp?: string;
    readonly confirmedAt?: string;
  };
}

/** Column names as each platform's export writes them (lower-cased). */
const FOREIGN_FORMATS: readonly ForeignFormat[] = [
  {
    // Substack's "email list" export: paying readers have an active subscription.
    format: 'substack',
    recognise: (names) => names.has('email') && names.has('active_subscription'),
    read: (field) => ({
      email: field('email'),
      name: field('name'),
      tier: TRUE.has(field('active_subscription').toLowerCase()) ? 'premium' : 'free',
      subscribed: !TRUE.has(field('email_disabled').toLowerCase()),
      consentAt: field('created_at'),
    }),
  },
  {
    // Ghost's members export: paid and complimentary members have a tier.
    format: 'ghost',
    recognise: (names) => names.has('email') && names.has('subscribed_to_emails'),
    read: (field) => ({
      email: field('email'),
      name: field('name'),
      tier:
        TRUE.has(field('complimentary_plan').toLowerCase()) || field('tiers').trim() !== ''
          ? 'premium'
          : 'free',
      subscribed: TRUE.has(field('subscribed_to_emails').toLowerCase()) && field('deleted_at').trim() === '',
      consentAt: field('created_at'),
    }),
  },
  {
    // Mailchimp's audience export ("subscribed" file): opt-in and confirmation, with addresses.
    format: 'mailchimp',
    recognise: (names) => names.has('email address'),
    read: (field) => ({
      email: field('email address'),
      name: [field('first name'), field('last name')]
        .map((part) => part.trim())
        .filter(Boolean)
        .join(' '),
      tier: 'free',
      // Its "unsubscribed" and "cleaned" files carry the date they left.
      subscribed: field('unsub_time').trim() === '' && field('clean_time').trim() === '',
      consentAt: field('optin_time') || field('confirm_time'),
      consentIp: field('optin_ip') || field('confirm_ip'),
      confirmedAt: field('confirm_time'),
    }),
  },
  {
    // listmonk's subscribers export: blocklisted people must never be mailed.
    format: 'listmonk',
    recognise: (names) => names.has('email') && names.has('uuid') && names.has('attributes'),
    read: (field) => ({
      email: field('email'),
      name: field('name'),
      tier: 'free',
      subscribed: field('status').trim().toLowerCase() !== 'blocklisted',
      consentAt: field('created_at'),
    }),
  },
];

/** Dépêche's own file: email, and optionally name and tier; nothing else. */
function ownLayout(names: readonly string[]): ImportLayout {
  const unknown = names.filter((name) => !(IMPORT_COLUMNS as readonly string[]).includes(name));
  if (unknown.length > 0) {
    throw InvalidInputException.field(
      'header',
      `unknown column ${unknown.map((n) => `"${n}"`).join(', ')}; expected ${IMPORT_COLUMNS.join(', ')}, or an export of Substack, Ghost, Mailchimp or listmonk`,
      'unknown-column',
      unknown.join(', '),
    );
  }
  if (!names.includes('email'))
    throw InvalidInputException.field('header', 'the email column is missing', 'email-column');
  const field = (record: readonly string[]) => (name: string) => record[names.indexOf(name)] ?? '';
  return {
    format: 'depeche',
    columns: names,
    read(record, line) {
      const get = field(record);
      const checked = person(get('email'), get('name'));
      if ('reason' in checked) return checked;
      const tier = get('tier').trim().toLowerCase() || 'free';
      if (!(SUBSCRIBER_TIERS as readonly string[]).includes(tier))
        return { reason: `tier must be ${SUBSCRIBER_TIERS.join(' or ')}, got "${tier}"`, code: 'tier' };
      return { line, ...checked, tier: tier as SubscriberTier };
    },
  };
}

/**
 * The layout a header announces: another platform's export when its columns say so (every other
 * column of it is left aside), else Dépêche's own. A header that is neither refuses the file.
 */
export function importLayout(header: readonly string[]): ImportLayout {
  const names = header.map((name) => name.trim().toLowerCase());
  if (new Set(names).size !== names.length)
    throw InvalidInputException.field('header', 'a column appears twice', 'column-twice');
  const present = new Set(names);
  const foreign = FOREIGN_FORMATS.find((candidate) => candidate.recognise(present));
  if (!foreign) return ownLayout(names);
  return {
    format: foreign.format,
    columns: names,
    read(record, line) {
      const given = foreign.read((name) => record[names.indexOf(name)] ?? '');
      if (!given.subscribed) return 'not-subscribed';
      const checked = person(given.email, given.name);
      if ('reason' in checked) return checked;
      const consentAt = exportDate(given.consentAt);
      const confirmedAt = exportDate(given.confirmedAt ?? '');
      if (consentAt === 'invalid' || confirmedAt === 'invalid')
        return { reason: 'the consent date is not a date', code: 'consent-date' };
      const ip = given.consentIp?.trim();
      return {
        line,
        ...checked,
        tier: given.tier,
        ...(consentAt ? { consentAt } : {}),
        ...(confirmedAt ? { confirmedAt } : {}),
        ...(ip ? { consentIp: ip.slice(0, 45) } : {}),
      };
    },
  };
}
