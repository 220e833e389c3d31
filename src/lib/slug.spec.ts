import { describe, expect, it } from 'vitest';
import { SLUG_PATTERN, slugify } from './slug.js';

describe('slugify', () => {
  it('transliterates French titles', () => {
    expect(slugify("Daech s'empare d'Al-Qaryatayn")).toBe('daech-s-empare-d-al-qaryatayn');
    expect(slugify('L’Armée Arabe Syrienne lance une contre-attaque')).toBe(
      'l-armee-arabe-syrienne-lance-une-contre-attaque',
    );
    expect(slugify('Œuvres complètes : « Ça coïncide »')).toBe('oeuvres-completes-ca-coincide');
    expect(slugify('Straße, Łódź, Ærø')).toBe('strasse-lodz-aero');
  });

  it('returns an empty string when nothing is left, and caps the length on a word boundary', () => {
    expect(slugify('« ! »')).toBe('');
    const long = slugify('mot '.repeat(60));
    expect(long.length).toBeLessThanOrEqual(96);
    expect(long).toMatch(SLUG_PATTERN);
  });
});
