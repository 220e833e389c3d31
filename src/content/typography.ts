/** U+202F, the thin space French puts before ; ! ? and U+00A0 before : and inside « ». */
const THIN_NBSP = '\u202f';
const NBSP = '\u00a0';

/**
 * French typography on a run of prose: the spaces before ; ! ? : and inside « » become the
 * non-breaking ones French asks for (so that a line never starts with the mark), quotes get their
 * spaces, and an apostrophe between letters becomes the typographic one (l'État → l’État).
 * Only ever given text: code, URLs and HTML are left out by the caller.
 */
export function frenchTypography(text: string): string {
  return text
    .replace(/(\p{L})'(?=\p{L})/gu, '$1’')
    .replace(/[ \u00a0\u202f]+([;!?])/g, `${THIN_NBSP}$1`)
    .replace(/[ \u00a0\u202f]+:/g, `${NBSP}:`)
    .replace(/«[ \u00a0\u202f]*/g, `«${NBSP}`)
    .replace(/[ \u00a0\u202f]*»/g, `${NBSP}»`);
}
