import { decode } from 'libqp';
import { describe, expect, it } from 'vitest';
import { encodeQuotedPrintable, encodeQuotedPrintableValue } from './quoted-printable.js';

/** Text the way it decodes: CRLF is text's canonical line break (RFC 2045 6.7, rule 4). */
const canonical = (text: string): string => text.replace(/\r?\n/g, '\r\n');

function checkLines(encoded: string): void {
  const lines = encoded.split('\r\n');
  for (const line of lines) {
    expect(line.length).toBeLessThanOrEqual(76);
    expect(line).not.toMatch(/^\./);
    // Only the bytes that stand for themselves, and escapes.
    expect(line).toMatch(/^[\t\x20-\x7e]*$/);
    expect(line.replace(/=[0-9A-F]{2}/g, '').replace(/=$/, '')).not.toContain('=');
    // A blank at the end of a line is allowed only before a soft break's "=".
    expect(line).not.toMatch(/[ \t]$/);
  }
}

const tricky = [
  '',
  'a',
  'Syrie\u00a0: « l’analyse complète » — 😀 et 漢字',
  `${'x'.repeat(200)}\n${'é'.repeat(90)}\n\n`,
  'fin de ligne avec des blancs   \nsuite\t\n.commence par un point\n..deux\r\nseul\rCR',
  'a=b&c=d; égal = signe',
  `${'a '.repeat(60)}\n${'.'.repeat(160)}`,
  ` ${'y'.repeat(74)} `,
  `${'z'.repeat(74)}é${'z'.repeat(75)}😀`,
];

describe('quoted-printable pieces', () => {
  it('encodes text so that it decodes to the same, in lines of at most 76 characters', () => {
    for (const text of tricky) {
      const encoded = encodeQuotedPrintable(Buffer.from(text, 'utf8'), 'end-of-part');
      checkLines(encoded);
      expect(decode(encoded).toString('utf8')).toBe(canonical(text));
    }
  });

  it('gives the same text however it is cut into pieces, with values encoded between them', () => {
    const values = [
      'https://blog.example/r/abc.DEF_-1',
      'Hélène <Dupont> & "fils"',
      '',
      '.point',
      'a=b',
      `https://blog.example/r/${'a.b='.repeat(40)}`,
      '.'.repeat(200),
      '='.repeat(100),
      `${'x'.repeat(73)}==.${'y'.repeat(80)} `,
    ];
    for (const text of tricky) {
      for (const cut of [1, 7, 75, 76, 77]) {
        // Cut between characters, as markers are.
        const characters = Array.from(text);
        const pieces: string[] = [];
        for (let at = 0; at < characters.length; at += cut)
          pieces.push(characters.slice(at, at + cut).join(''));
        if (pieces.length === 0) pieces.push('');
        let encoded = '';
        let expected = '';
        pieces.forEach((piece, index) => {
          const last = index === pieces.length - 1;
          encoded += encodeQuotedPrintable(Buffer.from(piece, 'utf8'), last ? 'end-of-part' : 'soft-break');
          expected += piece;
          if (!last) {
            const value = values[index % values.length] ?? '';
            encoded += encodeQuotedPrintableValue(value);
            expected += value;
          }
        });
        checkLines(encoded);
        expect(decode(encoded).toString('utf8')).toBe(canonical(expected));
      }
    }
  });

  it('keeps a character’s bytes on one line', () => {
    const encoded = encodeQuotedPrintable(Buffer.from('é'.repeat(100), 'utf8'), 'end-of-part');
    for (const line of encoded.split('=\r\n')) expect(line).toMatch(/^(=C3=A9)+$/);
  });

  it('leaves a plain value as it is, but for the soft break that ends it', () => {
    expect(encodeQuotedPrintableValue('https://blog.example/r/abc')).toBe('https://blog.example/r/abc=\r\n');
    expect(encodeQuotedPrintableValue('')).toBe('');
    expect(encodeQuotedPrintableValue('?edition=e1')).toBe('?edition=3De1=\r\n');
    // A long one is cut into lines, the same as the general encoding would.
    for (let width = 70; width < 160; width += 1) {
      const value = `https://blog.example/r/${'ab=.'.repeat(width).slice(0, width)}`;
      expect(encodeQuotedPrintableValue(value)).toBe(encodeQuotedPrintable(Buffer.from(value), 'soft-break'));
    }
  });
});
