import { hash } from 'node:crypto';
import { domainToASCII } from 'node:url';
import validator from 'validator';
import { isSingleLine } from '../lib/single-line.js';

export type AddressCheck =
  | { readonly ok: true; readonly email: string }
  | {
      readonly ok: false;
      readonly reason: string;
      /** What is wrong, for a page to say in its reader's language. */
      readonly code: 'one-line' | 'email';
    };

/** What an address may be here: no display name, no IP for a domain, a domain with a TLD. */
const ADDRESS_RULES = { allow_display_name: false, require_tld: true, allow_ip_domain: false } as const;

/**
 * A local part `validator` accepts whatever the domain: dot-separated runs of RFC 5322's ASCII atom
 * characters. Any other (quoted, non-ASCII, dots astray) goes through `validator` whole.
 */
const PLAIN_LOCAL_PART = /^[a-z\d!#$%&'*+\-/=?^_\x60{|}~]+(?:\.[a-z\d!#$%&'*+\-/=?^_\x60{|}~]+)*$/i;
const LOCAL_PART_MAX = 64;

/** A domain as written in an address: in ASCII ('' when it has none), and whether mail can go to it. */
interface DomainReading {
  readonly ascii: string;
  readonly valid: boolean;
}

/**
 * Each domain's reading, kept: the lines of an import share a few domains, and reading one (IDNA,
 * then validator's FQDN rules) is most of an address's check. Bounded; emptied when full.
 */
const domainReadings = new Map<string, DomainReading>();
const DOMAIN_READINGS_MAX = 10_000;

function readDomain(written: string): DomainReading {
  let reading = domainReadings.get(written);
  if (reading === undefined) {
    const ascii = domainToASCII(written.toLowerCase());
    // validator judges an address's domain apart from its local part: "a" stands for any valid one.
    reading = { ascii, valid: ascii !== '' && validator.isEmail(`a@${ascii}`, ADDRESS_RULES) };
    if (domainReadings.size >= DOMAIN_READINGS_MAX) domainReadings.clear();
    domainReadings.set(written, reading);
  }
  return reading;
}

/** validator's verdict on `email` (`local@domain`), without asking it again about a domain it judged. */
function isValidAddress(email: string, local: string, domain: DomainReading): boolean {
  if (email.length > 254) return false;
  if (local.length <= LOCAL_PART_MAX && PLAIN_LOCAL_PART.test(local)) return domain.valid;
  return validator.isEmail(email, ADDRESS_RULES);
}

/**
 * Trims the address, lower-cases its domain and writes an internationalised domain in ASCII
 * (bücher.de -> xn--bcher-kva.de), then validates it. The local part keeps its case: some servers
 * honour it; uniqueness is case-insensitive anyway.
 */
export function normaliseEmail(raw: string): AddressCheck {
  if (!isSingleLine(raw))
    return { ok: false, reason: 'must not contain line breaks or control characters', code: 'one-line' };
  const trimmed = raw.trim();
  const at = trimmed.lastIndexOf('@');
  if (at <= 0 || at === trimmed.length - 1)
    return { ok: false, reason: `"${trimmed}" is not an email address`, code: 'email' };
  const domain = readDomain(trimmed.slice(at + 1));
  if (domain.ascii === '') return { ok: false, reason: `"${trimmed}" has an invalid domain`, code: 'email' };
  const local = trimmed.slice(0, at);
  const email = `${local}@${domain.ascii}`;
  if (!isValidAddress(email, local, domain))
    return { ok: false, reason: `"${trimmed}" is not an email address`, code: 'email' };
  return { ok: true, email };
}

/** The domain part of an address, lower case. */
export function domainOf(address: string): string {
  return address.slice(address.lastIndexOf('@') + 1).toLowerCase();
}

/**
 * An address's SHA-256, the same for any case of it: what tells two lines of one import apart. The
 * suppression list's hash is PostgreSQL's (`email_address_hash`, migration 0025), so that the
 * list, the subscribers and a freeze agree on it.
 */
export function addressDigest(email: string): Buffer {
  // The one-shot hash: a third of createHash's time, which an import of a million lines feels.
  return hash('sha256', email.toLowerCase(), 'buffer');
}
