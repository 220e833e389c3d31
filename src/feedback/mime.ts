/**
 * Just enough MIME to read what comes back to the listener: headers, nested multiparts, quoted
 * messages, and the machine-readable parts of reports (message/delivery-status,
 * message/feedback-report) kept as parts of their own. General-purpose parsers fold those parts
 * into the body text; a report reader needs them apart. Bounded in depth and in parts, so a hostile
 * message costs no more than its size.
 */

export interface MimePart {
  /** Lower-case field name to unfolded value, the first occurrence of each. */
  readonly headers: ReadonlyMap<string, string>;
  /** Lower-case type/subtype; text/plain when the part does not say. */
  readonly type: string;
  readonly params: Readonly<Record<string, string>>;
  /** The body with its transfer encoding undone. */
  readonly body: Buffer;
  /** Parts of a multipart, or the one message a message/rfc822 part holds. */
  readonly children: readonly MimePart[];
}

const MAX_DEPTH = 8;
const MAX_PARTS = 200;

/** Header fields of a block of header lines, unfolded; field names lower-case. */
export function parseHeaderBlock(block: string): Map<string, string> {
  const headers = new Map<string, string>();
  let name: string | undefined;
  let value = '';
  const keep = (): void => {
    if (name !== undefined && !headers.has(name)) headers.set(name, value.trim());
  };
  for (const line of block.split(/\r?\n/)) {
    if (/^[ \t]/.test(line) && name !== undefined) {
      value += ` ${line.trim()}`;
      continue;
    }
    keep();
    const colon = line.indexOf(':');
    if (colon <= 0) {
      name = undefined;
      continue;
    }
    name = line.slice(0, colon).trim().toLowerCase();
    value = line.slice(colon + 1);
  }
  keep();
  return headers;
}

/** `type/subtype; name=value; name="quoted value"` */
function parseContentType(value: string | undefined): { type: string; params: Record<string, string> } {
  const [head = '', ...rest] = (value ?? '').split(';');
  const type = /^[\w.+-]+\/[\w.+-]+$/.test(head.trim()) ? head.trim().toLowerCase() : 'text/plain';
  const params: Record<string, string> = {};
  for (const match of rest.join(';').matchAll(/([\w*.-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^;\s]+))/g)) {
    const key = (match[1] ?? '').toLowerCase();
    if (key !== '' && params[key] === undefined)
      params[key] = (match[2] ?? match[3] ?? '').replace(/\\(.)/g, '$1');
  }
  return { type, params };
}

function decodeQuotedPrintable(text: string): Buffer {
  const bytes = text
    .replace(/=\r?\n/g, '')
    .replace(/=([0-9A-Fa-f]{2})/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)));
  return Buffer.from(bytes, 'latin1');
}

function decodeTransfer(body: string, encoding: string | undefined): Buffer {
  switch ((encoding ?? '').trim().toLowerCase()) {
    case 'base64':
      return Buffer.from(body.replace(/[^A-Za-z0-9+/=]/g, ''), 'base64');
    case 'quoted-printable':
      return decodeQuotedPrintable(body);
    default:
      return Buffer.from(body, 'latin1');
  }
}

/** Bytes in a charset, as text; unknown charsets read as UTF-8, never throwing. */
export function decodeCharset(bytes: Buffer, charset: string | undefined): string {
  try {
    return new TextDecoder((charset ?? 'utf-8').trim().toLowerCase() || 'utf-8').decode(bytes);
  } catch {
    return new TextDecoder('utf-8').decode(bytes);
  }
}

/** RFC 2047 encoded words (=?utf-8?Q?...?=) in a header value, decoded. */
export function decodeHeaderWords(value: string): string {
  return value
    .replace(/(=\?[^?\s]+\?[BbQq]\?[^?\s]*\?=)\s+(?==\?)/g, '$1')
    .replace(
      /=\?([^?\s]+)\?([BbQq])\?([^?\s]*)\?=/g,
      (_, charset: string, encoding: string, text: string) => {
        const bytes =
          encoding.toUpperCase() === 'B'
            ? Buffer.from(text, 'base64')
            : decodeQuotedPrintable(text.replace(/_/g, ' '));
        return decodeCharset(bytes, charset.split('*')[0]);
      },
    );
}

/** The text of a part in its charset. */
export function textOf(part: MimePart): string {
  return decodeCharset(part.body, part.params['charset']);
}

export function parseMime(raw: Buffer): MimePart {
  let parts = 0;
  const parse = (source: string, depth: number, defaultType: string): MimePart => {
    parts += 1;
    const split = /\r?\n\r?\n/.exec(source);
    const headerBlock = split ? source.slice(0, split.index) : source;
    const bodyText = split ? source.slice(split.index + split[0].length) : '';
    // Raw 8-bit header bytes are UTF-8 by RFC 6532; encoded words are decoded where they are read.
    const headers = parseHeaderBlock(decodeCharset(Buffer.from(headerBlock, 'latin1'), 'utf-8'));
    const declared = headers.get('content-type');
    const { type, params } =
      declared === undefined ? { type: defaultType, params: {} } : parseContentType(declared);
    const body = decodeTransfer(bodyText, headers.get('content-transfer-encoding'));
    const children: MimePart[] = [];
    const room = (): boolean => depth < MAX_DEPTH && parts < MAX_PARTS;
    const boundary = params['boundary'];
    if (type.startsWith('multipart/') && boundary !== undefined && boundary !== '' && room()) {
      // Bodies of multiparts are 7bit/8bit by rule: the latin1 text is the bytes themselves.
      const delimiter = `--${escapeRegExp(boundary)}`;
      const sections = bodyText.split(new RegExp(`(?:^|\\r?\\n)${delimiter}(?:--)?[ \\t]*(?=\\r?\\n|$)`));
      // What follows the closing delimiter is an epilogue; a message cut short has no closing one.
      const closed = new RegExp(`(?:^|\\n)${delimiter}--`).test(bodyText);
      const digest = type === 'multipart/digest';
      for (const section of sections.slice(1, closed ? -1 : undefined)) {
        if (!room()) break;
        children.push(
          parse(section.replace(/^\r?\n/, ''), depth + 1, digest ? 'message/rfc822' : 'text/plain'),
        );
      }
    } else if ((type === 'message/rfc822' || type === 'message/global') && room()) {
      children.push(parse(body.toString('latin1'), depth + 1, 'text/plain'));
    }
    return { headers, type, params, body, children };
  };
  return parse(raw.toString('latin1'), 0, 'text/plain');
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Every part, depth first, the message itself first. */
export function* walk(part: MimePart): Generator<MimePart> {
  yield part;
  for (const child of part.children) yield* walk(child);
}
