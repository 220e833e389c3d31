import { describe, expect, it } from 'vitest';
import { addressHash, normaliseEmail } from './email-address.js';

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

  it('hashes addresses case-insensitively', () => {
    expect(addressHash('Jean@exemple.fr')).toBe(addressHash('jean@EXEMPLE.fr'));
    expect(addressHash('jean@exemple.fr')).toMatch(/^[0-9a-f]{64}$/);
  });
});
