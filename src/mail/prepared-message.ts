import { randomBytes } from 'node:crypto';
import * as mimeFuncs from 'nodemailer/lib/mime-funcs';
import { encodeQuotedPrintable, encodeQuotedPrintableValue } from './quoted-printable.js';
import { asEightBitMime, withNoLeadingDot } from './smtp-client.js';
import { CLICK_MARKER_PATTERN } from './tracked-links.js';

/**
 * Markers left in an edition's rendered HTML and text where each recipient's own values go. They
 * are plain ASCII words, so MJML, Handlebars and html-to-text carry them through untouched.
 */
export const RECIPIENT_MARKERS = {
  name: '%%DEPECHE_NAME%%',
  unsubscribeUrl: '%%DEPECHE_UNSUBSCRIBE_URL%%',
  preferencesUrl: '%%DEPECHE_PREFERENCES_URL%%',
  webVersionUrl: '%%DEPECHE_WEB_VERSION_URL%%',
  /** After each article's URL: what lets this reader read that article at their tier on the blog. */
  readerQuery: '%%DEPECHE_READER_QUERY%%',
} as const;

export type MarkerKey = keyof typeof RECIPIENT_MARKERS;
const MARKER_KEYS: ReadonlyMap<string, MarkerKey> = new Map(
  Object.entries(RECIPIENT_MARKERS).map(([key, marker]) => [marker, key as MarkerKey]),
);
const MARKER_PATTERN = new RegExp([...MARKER_KEYS.keys()].join('|'), 'g');

/** An HTML body with its markers replaced by these values, escaped for HTML. */
export function fillHtmlMarkers(html: string, values: Readonly<Record<MarkerKey, string>>): string {
  return html.replace(MARKER_PATTERN, (marker) => escapeHtml(values[MARKER_KEYS.get(marker) ?? 'name']));
}

export interface MessageTemplate {
  readonly from: string;
  readonly replyTo?: string;
  readonly subject: string;
  readonly html: string;
  readonly text: string;
  /** RFC 2919 list identifier, without the angle brackets. */
  readonly listId: string;
  readonly feedbackId: string;
}

export interface RecipientParts {
  readonly email: string;
  readonly name: string;
  /** With angle brackets. */
  readonly messageId: string;
  readonly unsubscribeUrl: string;
  readonly unsubscribeMailto: string;
  readonly preferencesUrl: string;
  /** The edition on the web, at the recipient's tier. */
  readonly webVersionUrl: string;
  /** Appended to each article's URL, so that the recipient reads it on the blog at their tier. */
  readonly readerQuery: string;
  /** The URL this recipient's copy gives for a tracked link (see tracked-links.ts). */
  clickUrl(linkId: string): string;
}

/** What goes into a slot of a spliced body: one of the recipient's values, or a tracked link's URL. */
type Slot = { readonly marker: MarkerKey } | { readonly link: string };

const SLOT_PATTERN = new RegExp(`${MARKER_PATTERN.source}|${CLICK_MARKER_PATTERN.source}`, 'g');

/**
 * A part's body cut at the markers and encoded once: quoted-printable literals (each ending where a
 * line ends, see quoted-printable.ts), then which value goes next, and so on. A recipient's body is
 * these bytes with the values encoded alone between them: no pass over the whole text per message.
 */
interface SplicedBody {
  /**
   * ASCII bytes, copied as they are into each recipient's message: a copy's body is never built
   * as a string (flattening one would allocate the whole body again for every recipient).
   */
  readonly literals: readonly Buffer[];
  /** The literals' bytes in all. */
  readonly literalBytes: number;
  readonly slots: readonly Slot[];
  readonly escapeHtml: boolean;
}

const HTML_SPECIAL = /[&<>"']/;
const EMPTY = Buffer.alloc(0);

function escapeHtml(value: string): string {
  if (!HTML_SPECIAL.test(value)) return value;
  return value
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

/** A part's text cut at its slots: the pieces around them, and what goes in each. */
function cut(body: string): { readonly pieces: string[]; readonly slots: Slot[] } {
  const pieces: string[] = [];
  const slots: Slot[] = [];
  let last = 0;
  for (const match of body.matchAll(SLOT_PATTERN)) {
    pieces.push(body.slice(last, match.index));
    const link = match[1];
    slots.push(link === undefined ? { marker: MARKER_KEYS.get(match[0]) ?? 'name' } : { link });
    last = match.index + match[0].length;
  }
  pieces.push(body.slice(last));
  return { pieces, slots };
}

/** A part cut at its slots; `before` and `after` (ASCII) open and close it. */
function splice(body: string, html: boolean, before: string, after: string): SplicedBody {
  const { pieces, slots } = cut(body);
  const literals = pieces.map((piece, index) =>
    Buffer.from(
      (index === 0 ? before : '') +
        encodeQuotedPrintable(
          Buffer.from(piece, 'utf8'),
          index === pieces.length - 1 ? 'end-of-part' : 'soft-break',
        ) +
        (index === pieces.length - 1 ? after : ''),
      'latin1',
    ),
  );
  return { literals, literalBytes: totalBytes(literals), slots, escapeHtml: html };
}

function totalBytes(literals: readonly Buffer[]): number {
  return literals.reduce((bytes, literal) => bytes + literal.length, 0);
}

/**
 * How a copy's parts are written. `8bit` (RFC 6152) carries the UTF-8 text as it is, over a relay
 * that announces 8BITMIME: about a tenth fewer bytes than quoted-printable for a French edition
 * (an accented letter takes 6 bytes in quoted-printable and 2 here, and there is no `=3D` for each
 * `=` of the HTML nor a soft line break every 76 characters), bytes that the relay, the network
 * and the reader's provider all carry.
 */
export type BodyEncoding = 'quoted-printable' | '8bit';

/** RFC 5322 2.1.1 and RFC 5321 4.5.3.1.6: a line holds at most 998 bytes before its CRLF. */
const MAX_8BIT_LINE = 998;

/** What the making of a copy needs to know of one literal of an 8bit part. */
interface LiteralShape {
  /** Bytes before its first line break, or all of them when it has none. */
  readonly firstLine: number;
  /** Bytes after its last line break; undefined when it has none. */
  readonly lastLine: number | undefined;
  readonly startsWithDot: boolean;
}

/**
 * A part cut at its slots, its literals in UTF-8 as written, laid out as SMTP's DATA carries them:
 * line breaks made CRLF and, where a line starts with a dot, the dot doubled (RFC 5321 4.5.2). A
 * literal's first dot follows a recipient's value, so whether it starts a line is known only as
 * each copy is made, and is seen to there.
 */
interface EightBitBody extends SplicedBody {
  readonly shapes: readonly LiteralShape[];
}

/** A bare CR or a NUL: what quoted-printable escapes and 8bit cannot carry. */
const NOT_FOR_8BIT = /\r(?!\n)|\0/;

/** The part for 8bit, or undefined where a line of its own is too long, or a byte cannot go as it is. */
function spliceEightBit(
  body: string,
  html: boolean,
  before: string,
  after: string,
): EightBitBody | undefined {
  if (NOT_FOR_8BIT.test(body)) return undefined;
  const { pieces, slots } = cut(body);
  const literals: Buffer[] = [];
  const shapes: LiteralShape[] = [];
  for (const [index, piece] of pieces.entries()) {
    const first = index === 0;
    const last = index === pieces.length - 1;
    // The part's head (ASCII, starting with its boundary) ends with a blank line: the text after
    // it starts a line whose dot is doubled here, as every other line's inside the literal.
    const text = `${first ? before : ''}${piece.replace(/\r?\n/g, '\r\n')}${last ? after : ''}`.replace(
      /\r\n\./g,
      '\r\n..',
    );
    const lines = text.split('\r\n');
    const bytes = lines.map((line) => Buffer.byteLength(line, 'utf8'));
    // The first line is checked with what comes before it on each copy; the last, with what follows.
    if (bytes.slice(1, -1).some((length) => length > MAX_8BIT_LINE)) return undefined;
    literals.push(Buffer.from(text, 'utf8'));
    shapes.push({
      firstLine: bytes[0] ?? 0,
      lastLine: lines.length > 1 ? bytes.at(-1) : undefined,
      startsWithDot: !first && text.startsWith('.'),
    });
  }
  return { literals, literalBytes: totalBytes(literals), slots, escapeHtml: html, shapes };
}

const MAX_LINE = 76;

/** A header field folded to RFC 5322 line lengths, non-ASCII text encoded as RFC 2047 words. */
function header(name: string, value: string): string {
  const line = `${name}: ${value}`;
  // What foldLines gives a line this short: the line.
  return `${line.length < MAX_LINE ? line : mimeFuncs.foldLines(line, MAX_LINE)}\r\n`;
}

/**
 * Whether a line of these headers starts with a dot. Header lines start with a field's name or
 * with folding white space, so none should; a copy whose headers did would need its dots doubled.
 */
function startsALineWithADot(headers: string): boolean {
  return headers.startsWith('.') || headers.includes('\r\n.');
}

/** The Date header of the second it was last asked for: every copy made in that second shares it. */
let dated: { readonly second: number; readonly header: string } = { second: NaN, header: '' };

function dateHeader(date: Date): string {
  const second = Math.floor(date.getTime() / 1000);
  if (dated.second !== second)
    dated = { second, header: header('Date', date.toUTCString().replace(/GMT$/, '+0000')) };
  return dated.header;
}

function encodedText(value: string): string {
  return mimeFuncs.encodeWords(value, 'Q', 52);
}

/** "Name" <address>, with the name quoted or encoded as it needs. */
export function formatAddress(name: string, address: string): string {
  if (name === '') return `<${address}>`;
  // A non-ASCII name is encoded whole: encoding only its non-ASCII words would leave a comma or an
  // angle bracket of the name in the header, where it starts a second address.
  const display = /^[\x20-\x7e]*$/.test(name)
    ? mimeFuncs.quoteString(name)
    : mimeFuncs.encodeWord(name, 'Q', 52);
  return `${display} <${address}>`;
}

/** A recipient's value as a part in quoted-printable holds it. */
function quotedPrintableValue(part: SplicedBody, value: string): string {
  return encodeQuotedPrintableValue(writtenValue(part, value));
}

/** A recipient's value as a part's text holds it: escaped for HTML in the HTML part. */
function writtenValue(part: SplicedBody, value: string): string {
  return part.escapeHtml ? escapeHtml(value) : value;
}

/**
 * One email of an edition for one tier, composed once: headers that never change, and the HTML and
 * text parts cut at the recipient markers and encoded. Each recipient's message is then these bytes
 * with the recipient's values, encoded alone, spliced in: no template rendering, no MJML, no MIME
 * tree and no pass over the body per recipient. The parts are written in 8bit where the relay
 * takes it (see BodyEncoding), else in quoted-printable; never in base64, which cannot be cut and
 * spliced (each recipient's values would shift every line after them), and which is larger for
 * text like ours (16 % on the sample post). Per recipient only To, Message-ID, Date,
 * List-Unsubscribe, the name and the links change.
 */
export class PreparedMessage {
  private readonly fixedHeaders: string;
  private readonly boundary: string;
  private readonly text: SplicedBody;
  private readonly html: SplicedBody;
  /** Both parts for 8bit, made at the first 8bit copy; null where one of them cannot be. */
  private eightBit: { readonly text: EightBitBody; readonly html: EightBitBody } | null | undefined;
  private readonly template: MessageTemplate;
  /** Size of the HTML part before splicing, for Gmail's 102 KB clipping warning. */
  readonly htmlBytes: number;

  constructor(template: MessageTemplate) {
    this.template = template;
    this.boundary = `--_depeche_${randomBytes(12).toString('hex')}`;
    this.fixedHeaders = [
      header('From', template.from),
      template.replyTo ? header('Reply-To', template.replyTo) : '',
      header('Subject', encodedText(template.subject)),
      'MIME-Version: 1.0\r\n',
      header('Content-Type', `multipart/alternative; boundary="${this.boundary}"`),
      header('List-Id', `<${template.listId}>`),
      'List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n',
      header('Feedback-ID', template.feedbackId),
      'Precedence: bulk\r\n',
      'Auto-Submitted: auto-generated\r\n',
    ].join('');
    this.text = splice(template.text, false, this.partHead('text/plain', 'quoted-printable'), '\r\n');
    this.html = splice(template.html, true, this.partHead('text/html', 'quoted-printable'), this.closing());
    this.htmlBytes = Buffer.byteLength(template.html, 'utf8');
  }

  private partHead(type: string, encoding: BodyEncoding): string {
    return `--${this.boundary}\r\nContent-Type: ${type}; charset=utf-8\r\nContent-Transfer-Encoding: ${encoding}\r\n\r\n`;
  }

  private closing(): string {
    // RFC 2046: the last alternative is the preferred one, so the text part comes first.
    return `\r\n--${this.boundary}--\r\n`;
  }

  private eightBitParts(): { readonly text: EightBitBody; readonly html: EightBitBody } | null {
    if (this.eightBit === undefined) {
      const text = spliceEightBit(this.template.text, false, this.partHead('text/plain', '8bit'), '\r\n');
      const html = spliceEightBit(
        this.template.html,
        true,
        this.partHead('text/html', '8bit'),
        this.closing(),
      );
      this.eightBit = text && html ? { text, html } : null;
    }
    return this.eightBit;
  }

  /**
   * A part's values for one recipient, in the order of its slots, each made by `encode`. A value
   * met again (the reader's query after every article link, the name) is made once.
   */
  private static values(
    part: SplicedBody,
    recipient: RecipientParts,
    encode: (part: SplicedBody, value: string) => string,
  ): string[] {
    const encoded = new Map<MarkerKey, string>();
    return part.slots.map((slot) => {
      // Each link's URL is its own; the recipient's values come back, and are encoded once.
      if ('link' in slot) return encode(part, recipient.clickUrl(slot.link));
      let value = encoded.get(slot.marker);
      if (value === undefined) {
        value = encode(part, recipient[slot.marker]);
        encoded.set(slot.marker, value);
      }
      return value;
    });
  }

  /** Writes a part's literals with this recipient's values between them; answers where it ended. */
  private static lay(message: Buffer, at: number, part: SplicedBody, values: readonly string[]): number {
    const { literals } = part;
    let end = at;
    for (let index = 0; index < literals.length; index += 1) {
      if (index > 0) end += message.write(values[index - 1] ?? '', end, 'latin1');
      const literal = literals[index] ?? EMPTY;
      message.set(literal, end);
      end += literal.length;
    }
    return end;
  }

  /**
   * The same for an 8bit part, doubling a dot that starts a line where a value puts it there (the
   * message has room for one more byte a slot). Undefined when a line would pass 998 bytes with
   * this recipient's values in it: such a copy goes in quoted-printable.
   */
  private static layEightBit(
    message: Buffer,
    at: number,
    part: EightBitBody,
    values: readonly string[],
  ): number | undefined {
    const { literals, shapes } = part;
    let end = at;
    /** Bytes on the line being written, and whether nothing is on it yet. */
    let line = 0;
    let lineStart = true;
    for (let index = 0; index < literals.length; index += 1) {
      const value = index > 0 ? (values[index - 1] ?? '') : '';
      if (value !== '') {
        if (lineStart && value.charCodeAt(0) === 0x2e) {
          message[end] = 0x2e;
          end += 1;
          line += 1;
        }
        const bytes = message.write(value, end, 'utf8');
        end += bytes;
        line += bytes;
        lineStart = false;
      }
      const literal = literals[index] ?? EMPTY;
      const shape = shapes[index];
      if (literal.length === 0 || shape === undefined) continue;
      if (lineStart && shape.startsWithDot) {
        message[end] = 0x2e;
        end += 1;
        line += 1;
      }
      if (line + shape.firstLine > MAX_8BIT_LINE) return undefined;
      message.set(literal, end);
      end += literal.length;
      if (shape.lastLine === undefined) {
        line += shape.firstLine;
        lineStart = false;
      } else {
        line = shape.lastLine;
        lineStart = line === 0;
      }
    }
    return end;
  }

  /** The bytes of these values in UTF-8, or undefined when one holds a line break or a NUL. */
  private static eightBitBytes(values: readonly string[]): number | undefined {
    let bytes = 0;
    for (const value of values) {
      if (value.includes('\n') || value.includes('\r') || value.includes('\0')) return undefined;
      bytes += Buffer.byteLength(value, 'utf8');
    }
    return bytes;
  }

  /**
   * The whole RFC 5322 message for one recipient, ready for SMTP. In 8bit where it can be (see
   * BodyEncoding and `layEightBit`); such a copy is laid out as DATA carries it, its dots doubled.
   */
  forRecipient(
    recipient: RecipientParts,
    date: Date = new Date(),
    encoding: BodyEncoding = 'quoted-printable',
  ): Buffer {
    const headers =
      dateHeader(date) +
      header('Message-ID', recipient.messageId) +
      header('To', formatAddress(recipient.name, recipient.email)) +
      header('List-Unsubscribe', `<${recipient.unsubscribeUrl}>, <${recipient.unsubscribeMailto}>`) +
      this.fixedHeaders +
      '\r\n';
    return (
      (encoding === '8bit' && this.eightBitCopy(recipient, headers)) ||
      this.quotedPrintableCopy(recipient, headers)
    );
  }

  private quotedPrintableCopy(recipient: RecipientParts, headers: string): Buffer {
    const text = PreparedMessage.values(this.text, recipient, quotedPrintableValue);
    const html = PreparedMessage.values(this.html, recipient, quotedPrintableValue);
    // Headers may hold an address in UTF-8 (SMTPUTF8); the values are quoted-printable, ASCII.
    let size = Buffer.byteLength(headers, 'utf8') + this.text.literalBytes + this.html.literalBytes;
    for (const value of text) size += value.length;
    for (const value of html) size += value.length;
    const message = Buffer.allocUnsafe(size);
    const body = message.write(headers, 0, 'utf8');
    PreparedMessage.lay(message, PreparedMessage.lay(message, body, this.text, text), this.html, html);
    // The body's lines never start with a dot (quoted-printable); the headers are checked here.
    return startsALineWithADot(headers) ? message : withNoLeadingDot(message);
  }

  private eightBitCopy(recipient: RecipientParts, headers: string): Buffer | undefined {
    const parts = this.eightBitParts();
    // Its body's dots are doubled as it is laid out; headers that would need theirs go as they are.
    if (parts === null || startsALineWithADot(headers)) return undefined;
    const text = PreparedMessage.values(parts.text, recipient, writtenValue);
    const html = PreparedMessage.values(parts.html, recipient, writtenValue);
    const textBytes = PreparedMessage.eightBitBytes(text);
    const htmlBytes = PreparedMessage.eightBitBytes(html);
    if (textBytes === undefined || htmlBytes === undefined) return undefined;
    const headerBytes = Buffer.byteLength(headers, 'utf8');
    // Room for a doubled dot at each slot; the copy is what is laid out of it.
    const room =
      headerBytes +
      parts.text.literalBytes +
      parts.html.literalBytes +
      textBytes +
      htmlBytes +
      text.length +
      html.length;
    const message = Buffer.allocUnsafe(room);
    message.write(headers, 0, 'utf8');
    const textEnd = PreparedMessage.layEightBit(message, headerBytes, parts.text, text);
    const end =
      textEnd === undefined ? undefined : PreparedMessage.layEightBit(message, textEnd, parts.html, html);
    if (end === undefined) return undefined;
    return asEightBitMime(withNoLeadingDot(end === room ? message : message.subarray(0, end)));
  }
}
