/** Letters that Unicode decomposition does not reduce to ASCII. */
const LIGATURES: Readonly<Record<string, string>> = {
  œ: 'oe',
  æ: 'ae',
  ß: 'ss',
  ø: 'o',
  đ: 'd',
  ð: 'd',
  ł: 'l',
  þ: 'th',
  ı: 'i',
};

export const SLUG_PATTERN = /^[a-z0-9]+(?:-[a-z0-9]+)*$/;
export const SLUG_MAX_LENGTH = 96;

/**
 * URL form of a title or tag: accents transliterated, everything else that is not a letter or a
 * digit becomes one hyphen ("Daech s'empare d'Al-Qaryatayn" -> "daech-s-empare-d-al-qaryatayn").
 * May return '' when nothing survives; callers choose the fallback.
 */
export function slugify(text: string): string {
  const ascii = text
    .toLowerCase()
    .replace(/[œæßøđðłþı]/g, (letter) => LIGATURES[letter] ?? '')
    .normalize('NFKD')
    .replace(/\p{M}+/gu, '');
  const slug = ascii.replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '');
  return slug.slice(0, SLUG_MAX_LENGTH).replace(/-+$/, '');
}
