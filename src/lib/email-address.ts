import { createHash } from 'node:crypto';
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
  const domain = domainToASCII(trimmed.slice(at + 1).toLowerCase());
  if (domain === '') return { ok: false, reason: `"${trimmed}" has an invalid domain`, code: 'email' };
  const email = `${trimmed.slice(0, at)}@${domain}`;
  if (
    email.length > 254 ||
    !validator.isEmail(email, { allow_display_name: false, require_tld: true, allow_ip_domain: false })
  ) {
    return { ok: false, reason: `"${trimmed}" is not an email address`, code: 'email' };
  }
  return { ok: true, email };
}

/** The domain part of an address, lower case. */
export function domainOf(address: string): string {
  return address.slice(address.lastIndexOf('@') + 1).toLowerCase();
}

/** The form kept in the suppression list: no readable address, same for any case of it. */
export function addressHash(email: string): string {
  return createHash('sha256').update(email.toLowerCase(), 'utf8').digest('hex');
}
