import { domainToASCII } from 'node:url';
import validator from 'validator';
import { describe, expect, it } from 'vitest';
import { normaliseEmail } from './email-address.js';

/** The check as validator makes it on the whole address, every time: what normaliseEmail must agree with. */
function checkedWhole(raw: string): ReturnType<typeof normaliseEmail> {
  const trimmed = raw.trim();
  const at = trimmed.lastIndexOf('@');
  if (at <= 0 || at === trimmed.length - 1) return normaliseEmail(raw);
  const domain = domainToASCII(trimmed.slice(at + 1).toLowerCase());
  if (domain === '') return { ok: false, reason: `"${trimmed}" has an invalid domain`, code: 'email' };
  const email = `${trimmed.slice(0, at)}@${domain}`;
  const valid =
    email.length <= 254 &&
    validator.isEmail(email, { allow_display_name: false, require_tld: true, allow_ip_domain: false });
  return valid
    ? { ok: true, email }
    : { ok: false, reason: `"${trimmed}" is not an email address`, code: 'email' };
}

const LOCAL_PARTS = [
  'jean',
  'Jean.Dupont',
  'j',
  'a+tag',
  "o'hara",
  'x_y',
  '#!$%&*=?^`{|}~-/',
  '.jean',
  'jean.',
  'je..an',
  'jé',
  'zoë.martin',
  '"jean dupont"',
  '"a@b"',
  'a@b',
  'a b',
  'a\\b',
  '"unclosed',
  'a"b',
  '(comment)jean',
  'a,b',
  'a;b',
  'a<b',
  'a[b]',
  'j'.repeat(64),
  'j'.repeat(65),
  `${'j'.repeat(62)}é`,
  'ĵ'.repeat(40),
  '123',
  '-',
];
const DOMAINS = [
  'exemple.fr',
  'EXEMPLE.Fr',
  'bücher.de',
  'xn--bcher-kva.de',
  'mail.exemple.co.uk',
  'exemple',
  'exemple.f',
  'exemple.123',
  '123.456',
  'a_b.fr',
  '-x.fr',
  'x-.fr',
  'ex..fr',
  '.fr',
  'exemple.fr.',
  '[127.0.0.1]',
  '127.0.0.1',
  `${'l'.repeat(63)}.fr`,
  `${'l'.repeat(64)}.fr`,
  `${'l'.repeat(60)}.${'m'.repeat(60)}.${'n'.repeat(60)}.${'o'.repeat(58)}.fr`,
  'ex ample.fr',
  'exemple.fr-',
  'exemple.xn--p1ai',
  'пример.рф',
  'ex%ample.fr',
  'x.y',
  'a.b.c.d.e.fr',
  'ÉCOLE.fr',
];

describe('normaliseEmail', () => {
  it('trims, lower-cases the domain and writes internationalised domains in ASCII', () => {
    expect(normaliseEmail('  Jean.Dupont@Exemple.FR ')).toEqual({
      ok: true,
      email: 'Jean.Dupont@exemple.fr',
    });
    expect(normaliseEmail('anna@Bücher.de')).toEqual({ ok: true, email: 'anna@xn--bcher-kva.de' });
  });

  it('refuses what is not an address, and any control character', () => {
    for (const bad of [
      '',
      'jean',
      'jean@',
      '@exemple.fr',
      'jean@exemple',
      'a b@exemple.fr',
      'jean@[127.0.0.1]',
    ]) {
      expect(normaliseEmail(bad), bad).toMatchObject({ ok: false, code: 'email' });
    }
    expect(normaliseEmail('jean@exemple.fr\r\nBcc: x@y.z')).toEqual({
      ok: false,
      reason: 'must not contain line breaks or control characters',
      code: 'one-line',
    });
  });

  it('judges every address as validator does on the whole address, with a domain judged before or not', () => {
    let seed = 7;
    const pick = <T>(list: readonly T[]): T => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return list[seed % list.length]!;
    };
    const addresses = LOCAL_PARTS.flatMap((local) => DOMAINS.map((domain) => `${local}@${domain}`));
    for (let n = 0; n < 3000; n += 1)
      addresses.push(`${pick(LOCAL_PARTS)}${pick(['', '.', '@'])}${pick(LOCAL_PARTS)}@${pick(DOMAINS)}`);
    const verdicts = { accepted: 0, refused: 0 };
    for (const address of [...addresses, ...addresses]) {
      const expected = checkedWhole(address);
      expect(normaliseEmail(address), address).toEqual(expected);
      verdicts[expected.ok ? 'accepted' : 'refused'] += 1;
    }
    // Both verdicts are well represented: the corpus tests the shortcut and its refusals alike.
    expect(verdicts.accepted).toBeGreaterThan(250);
    expect(verdicts.refused).toBeGreaterThan(1000);
  });
});
