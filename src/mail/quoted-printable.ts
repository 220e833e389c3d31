/**
 * Quoted-printable (RFC 2045 6.7) for bodies that are cut into pieces and put back together for
 * each recipient: every piece is encoded on its own, starting at the beginning of a line, and a
 * piece that is not the last ends with a soft line break. A soft break decodes to nothing, so the
 * pieces' encodings laid end to end decode to the pieces' bytes laid end to end, whatever their
 * lengths: an edition's fixed text is encoded once and each recipient's values alone at each send.
 *
 * Encoded lines are at most 76 characters. A line never starts with a dot (it is written `=2E`),
 * so a message made of these needs no dot-stuffing on the wire. A character's UTF-8 bytes are never
 * split between two lines. Line breaks in the text become CRLF, the canonical form of text.
 */

const MAX_LINE = 76;
const SOFT_BREAK = '=\r\n';
const HEX = '0123456789ABCDEF';

/** `=XX` for one byte. */
function escaped(byte: number): string {
  return `=${HEX[byte >> 4] ?? ''}${HEX[byte & 15] ?? ''}`;
}

/** How many bytes the UTF-8 sequence led by this byte has (1 for anything that is not a lead byte). */
function sequenceLength(lead: number): number {
  if (lead >= 0xf0 && lead <= 0xf7) return 4;
  if (lead >= 0xe0) return lead <= 0xef ? 3 : 1;
  if (lead >= 0xc0) return 2;
  return 1;
}

/** Printable ASCII that stands for itself: everything from `!` to `~` but `=`. */
function isLiteral(byte: number): boolean {
  return byte >= 0x21 && byte <= 0x7e && byte !== 0x3d;
}

export type PieceEnd = 'soft-break' | 'end-of-part';

/**
 * The piece's bytes in quoted-printable, starting at the beginning of a line. With 'soft-break' a
 * piece that leaves a line open closes it with a soft break, so that whatever follows starts a
 * line; with 'end-of-part' it is the part's last piece, and a space or tab ending it is escaped.
 */
export function encodeQuotedPrintable(bytes: Uint8Array, end: PieceEnd): string {
  const lines: string[] = [];
  let line = '';
  const put = (token: string): void => {
    // Room is kept for the "=" of a soft break at the end of every line.
    if (line.length + token.length > MAX_LINE - 1) {
      lines.push(line + SOFT_BREAK);
      line = '';
    }
    line += token.length === 1 && line === '' && token === '.' ? '=2E' : token;
  };
  /** A space or tab ending a line before a hard break or the part's end is written escaped. */
  const escapeTrailingBlank = (): void => {
    const last = line.charCodeAt(line.length - 1);
    if (last !== 0x20 && last !== 0x09) return;
    line = line.slice(0, -1);
    put(escaped(last));
  };
  for (let at = 0; at < bytes.length;) {
    const byte = bytes[at] ?? 0;
    if (byte === 0x0a || (byte === 0x0d && bytes[at + 1] === 0x0a)) {
      escapeTrailingBlank();
      lines.push(`${line}\r\n`);
      line = '';
      at += byte === 0x0d ? 2 : 1;
    } else if (isLiteral(byte) || byte === 0x20 || byte === 0x09) {
      put(String.fromCharCode(byte));
      at += 1;
    } else {
      // A whole character's bytes on one line: some readers decode line by line.
      const length = Math.min(sequenceLength(byte), bytes.length - at);
      let token = '';
      for (let i = 0; i < length; i += 1) token += escaped(bytes[at + i] ?? 0);
      put(token);
      at += length;
    }
  }
  if (end === 'end-of-part') escapeTrailingBlank();
  else if (line !== '') line += SOFT_BREAK;
  lines.push(line);
  return lines.join('');
}

const PRINTABLE_ASCII = /^[\x20-\x7e]*$/;

/**
 * The same for a recipient's value (a link, a name), with a quick way for the usual case: printable
 * ASCII, where only `=` needs escaping and lines are cut every 75 characters, never inside an escape.
 */
export function encodeQuotedPrintableValue(value: string): string {
  if (value === '') return '';
  if (!PRINTABLE_ASCII.test(value)) return encodeQuotedPrintable(Buffer.from(value, 'utf8'), 'soft-break');
  const text = value.includes('=') ? value.replaceAll('=', '=3D') : value;
  let encoded = '';
  for (let at = 0; at < text.length;) {
    // A line starting with a dot starts with "=2E" instead: two characters more.
    const dot = text.charCodeAt(at) === 0x2e;
    let end = Math.min(at + MAX_LINE - 1 - (dot ? 2 : 0), text.length);
    // An escape begun in the last two characters goes whole to the next line.
    if (end < text.length) {
      if (text.charCodeAt(end - 1) === 0x3d) end -= 1;
      else if (text.charCodeAt(end - 2) === 0x3d) end -= 2;
    }
    encoded += `${dot ? '=2E' : ''}${text.slice(dot ? at + 1 : at, end)}${SOFT_BREAK}`;
    at = end;
  }
  return encoded;
}
