import { createHash, createPrivateKey, type KeyObject, sign } from 'node:crypto';
import type { DkimSettings } from '../config/app-config.js';

/**
 * The header fields a signature covers. Those marked `oversign` are named once more than the
 * message holds them (RFC 6376 §5.4.2, §8.15): a receiver then counts a field added on the way (a
 * second From above ours, say) as part of what was signed, and the signature no longer verifies.
 */
const SIGNED_FIELDS: readonly { readonly name: string; readonly oversign: boolean }[] = [
  ...['From', 'To', 'Subject', 'Date', 'Message-ID', 'Reply-To'].map((name) => ({ name, oversign: true })),
  ...['List-Id', 'List-Unsubscribe', 'List-Unsubscribe-Post', 'Feedback-ID'].map((name) => ({
    name,
    oversign: true,
  })),
  ...['Cc', 'MIME-Version', 'Content-Type', 'Content-Transfer-Encoding', 'Precedence', 'Auto-Submitted'].map(
    (name) => ({ name, oversign: false }),
  ),
];

const HEADER_END = Buffer.from('\r\n\r\n');

interface HeaderField {
  readonly name: string;
  /** The whole field as it stands, folded lines included, without its final CRLF. */
  readonly line: string;
}

function headerFields(block: string): HeaderField[] {
  const fields: HeaderField[] = [];
  for (const line of block.split('\r\n')) {
    const last = fields.at(-1);
    if ((line.startsWith(' ') || line.startsWith('\t')) && last) {
      fields[fields.length - 1] = { name: last.name, line: `${last.line}\r\n${line}` };
    } else if (line !== '') {
      fields.push({ name: line.slice(0, line.indexOf(':')).trim().toLowerCase(), line });
    }
  }
  return fields;
}

/** Relaxed header canonicalisation (RFC 6376 §3.4.2). */
function relaxedHeader(name: string, line: string): string {
  const value = line
    .slice(line.indexOf(':') + 1)
    .replace(/\r\n/g, '')
    .replace(/[ \t]+/g, ' ')
    .trim();
  return `${name}:${value}`;
}

/** Relaxed body canonicalisation (RFC 6376 §3.4.4), hashed. */
function relaxedBodyHash(body: Buffer): string {
  const lines = body
    .toString('latin1')
    .split('\r\n')
    .map((line) => line.replace(/[ \t]+/g, ' ').replace(/ $/, ''));
  while (lines.length > 0 && lines.at(-1) === '') lines.pop();
  const canonical = lines.length === 0 ? '' : `${lines.join('\r\n')}\r\n`;
  return createHash('sha256').update(canonical, 'latin1').digest('base64');
}

/** Signs messages with rsa-sha256, relaxed/relaxed, as every receiver checks. */
export class DkimSigner {
  private readonly key: KeyObject;

  constructor(private readonly settings: DkimSettings) {
    this.key = createPrivateKey(settings.privateKey);
  }

  /** The message with a DKIM-Signature field in front. Messages are CRLF throughout. */
  sign(message: Buffer): Buffer {
    const end = message.indexOf(HEADER_END);
    const headerBlock = message.subarray(0, end === -1 ? message.length : end).toString('latin1');
    const body = end === -1 ? Buffer.alloc(0) : message.subarray(end + HEADER_END.length);
    const fields = headerFields(headerBlock);

    // Instances are signed from the bottom up; a name with no instance left signs nothing.
    const names: string[] = [];
    const canonical: string[] = [];
    for (const { name, oversign } of SIGNED_FIELDS) {
      const key = name.toLowerCase();
      const present = fields.filter((field) => field.name === key).reverse();
      if (present.length === 0 && !oversign) continue;
      for (const field of present) {
        names.push(name);
        canonical.push(relaxedHeader(key, field.line));
      }
      if (oversign) names.push(name);
    }
    // Folded as it will travel: the signature covers this field as receivers will read it, with its
    // own b= empty. Folds go only where RFC 6376 allows whitespace: between tags and after a colon
    // of h=.
    const unsigned = [
      `DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; d=${this.settings.domainName};`,
      ` s=${this.settings.keySelector}; t=${Math.floor(Date.now() / 1000)};`,
      ` bh=${relaxedBodyHash(body)};`,
      ...foldList(` h=`, names, ';'),
      ' b=',
    ].join('\r\n');
    const data = [...canonical, relaxedHeader('dkim-signature', unsigned)].join('\r\n');
    const signature = sign('sha256', Buffer.from(data, 'latin1'), this.key).toString('base64');
    // Whitespace inside b= is ignored by receivers: the value may be cut anywhere.
    const folded = [unsigned + signature.slice(0, 72), ...chunks(signature.slice(72), 75)].join('\r\n ');
    return Buffer.concat([Buffer.from(`${folded}\r\n`, 'latin1'), message]);
  }
}

/** `prefix` and the names joined by colons, in lines under 78 characters, folded after a colon. */
function foldList(prefix: string, names: readonly string[], suffix: string): string[] {
  const lines: string[] = [];
  let line = prefix;
  names.forEach((name, index) => {
    const piece = index < names.length - 1 ? `${name}:` : `${name}${suffix}`;
    if (line.length + piece.length > 76 && line.trim() !== prefix.trim()) {
      lines.push(line);
      line = ' ';
    }
    line += piece;
  });
  lines.push(line);
  return lines;
}

function chunks(text: string, size: number): string[] {
  const pieces: string[] = [];
  for (let at = 0; at < text.length; at += size) pieces.push(text.slice(at, at + size));
  return pieces;
}
