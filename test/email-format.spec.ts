import { randomUUID } from 'node:crypto';
import { simpleParser } from 'mailparser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { subscribers } from '../src/database/schema.js';
import { FAST_PIPELINE, finished, publishedArticle, scheduledEdition } from './helpers/editions.js';
import { type ReceivedMail, type SmtpSink, startSmtpSink } from './helpers/smtp-sink.js';
import { startTestApp, type TestApp } from './helpers/test-app.js';

/** Names that once rewrote a header: each must stay one display name of one address. */
const HOSTILE_NAMES = [
  'Dupont, Éloïse',
  'Ünïcode "quoted" <attacker@evil.test>',
  'Hélène <attacker@evil.test>, x',
  'Plain "ASCII" <attacker@evil.test>, y',
  'Zoë\\ backslash',
];

/** Line feeds not preceded by a carriage return: SMTP wants CRLF everywhere. */
function bareLineFeeds(raw: Buffer): number {
  let count = 0;
  for (let i = raw.indexOf(10); i !== -1; i = raw.indexOf(10, i + 1)) if (raw[i - 1] !== 13) count++;
  return count;
}

/** The raw header block of a message, as bytes. */
function headerBlock(raw: Buffer): Buffer {
  return raw.subarray(0, raw.indexOf('\r\n\r\n'));
}

async function headerAddresses(mail: ReceivedMail, field: 'to' | 'from' | 'reply-to') {
  const parsed = await simpleParser(mail.raw);
  const value = parsed.headers.get(field) as { value: { address?: string; name: string }[] } | undefined;
  return value?.value ?? [];
}

let t: TestApp;
let sink: SmtpSink;

beforeAll(async () => {
  sink = await startSmtpSink();
  t = await startTestApp({
    SMTP_URL: sink.url,
    ...FAST_PIPELINE,
    MAIL_FROM: 'Le Blog de Dépêche, la lettre <lettre@blog.example.test>',
    MAIL_REPLY_TO: 'Rédaction Dépêche <redaction@blog.example.test>',
  });
});
afterAll(async () => {
  await t.close();
  await sink.close();
});

describe('addresses in headers', () => {
  it('gives any display name exactly one address in an edition’s To, From and Reply-To', async () => {
    const article = await publishedArticle(t);
    const emails = HOSTILE_NAMES.map((_, i) => `nom-${i}@exemple.fr`);
    await t.database.db.insert(subscribers).values(
      HOSTILE_NAMES.map((name, i) => ({
        id: randomUUID(),
        email: emails[i]!,
        name,
        tier: 'premium' as const,
        status: 'active' as const,
        consentSource: 'import' as const,
        consentWording: 'test',
      })),
    );
    const edition = await scheduledEdition(t, article.id);
    expect(await finished(t, edition.id)).toMatchObject({ status: 'sent', counts: { sent: emails.length } });
    for (const [i, email] of emails.entries()) {
      const [mail] = sink.to(email);
      expect(await headerAddresses(mail!, 'to'), email).toEqual([{ address: email, name: HOSTILE_NAMES[i] }]);
      expect(await headerAddresses(mail!, 'from')).toEqual([
        { address: 'lettre@blog.example.test', name: 'Le Blog de Dépêche, la lettre' },
      ]);
      expect(await headerAddresses(mail!, 'reply-to')).toEqual([
        { address: 'redaction@blog.example.test', name: 'Rédaction Dépêche' },
      ]);
      // Headers travel as 7-bit ASCII: non-ASCII text is RFC 2047 encoded, never raw bytes.
      expect(
        [...headerBlock(mail!.raw)].every((byte) => byte < 128),
        email,
      ).toBe(true);
      expect(bareLineFeeds(mail!.raw), email).toBe(0);
    }
  });

  it('does the same in confirmation and welcome emails, with CRLF line endings only', async () => {
    for (const [i, name] of HOSTILE_NAMES.entries()) {
      const email = `confirme-${i}@exemple.fr`;
      const res = await t.request({
        method: 'POST',
        url: '/subscribe',
        remoteAddress: `198.51.100.${i + 10}`,
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        payload: new URLSearchParams({ email, name }).toString(),
      });
      expect(res.statusCode).toBe(200);
      const [confirmation] = await sink.waitFor(email);
      expect(await headerAddresses(confirmation!, 'to'), name).toEqual([{ address: email, name }]);
      expect(await headerAddresses(confirmation!, 'reply-to')).toEqual([
        { address: 'redaction@blog.example.test', name: 'Rédaction Dépêche' },
      ]);
      expect(
        [...headerBlock(confirmation!.raw)].every((byte) => byte < 128),
        name,
      ).toBe(true);
      expect(bareLineFeeds(confirmation!.raw), name).toBe(0);

      const link = /https:\/\/blog\.example\.test(\/confirm\/[A-Za-z0-9_.-]+)/.exec(
        confirmation!.parsed.text ?? '',
      );
      await t.request({ method: 'POST', url: link![1]! });
      const welcome = (await sink.waitFor(email, 2))[1]!;
      expect(await headerAddresses(welcome, 'to'), name).toEqual([{ address: email, name }]);
      expect(bareLineFeeds(welcome.raw), name).toBe(0);
    }
  });
});

/** The Content-Transfer-Encoding of each part of a message, in order. */
function partEncodings(raw: Buffer): string[] {
  return [...raw.toString('latin1').matchAll(/^Content-Transfer-Encoding: (\S+)\r$/gim)].map((m) => m[1]!);
}

/** An edition to these premium subscribers, sent twice: the second send's copies, by address. */
async function secondSend(app: TestApp, to: SmtpSink, emails: readonly string[]): Promise<ReceivedMail[]> {
  await app.database.db.insert(subscribers).values(
    emails.map((email, i) => ({
      id: randomUUID(),
      email,
      name: i === 0 ? '.Élodie' : `Lectrice ${i}`,
      tier: 'premium' as const,
      status: 'active' as const,
      consentSource: 'import' as const,
      consentWording: 'test',
    })),
  );
  const article = await publishedArticle(app);
  // The first send opens the sessions, and so learns what the server announces.
  for (const round of [1, 2]) {
    const edition = await scheduledEdition(app, article.id);
    // The whole audience: whoever an earlier test of the file subscribed, and these.
    expect(await finished(app, edition.id)).toMatchObject({ status: 'sent' });
    for (const email of emails) await to.waitFor(email, round);
  }
  return emails.map((email) => to.to(email)[1]!);
}

describe('body encoding', () => {
  it('writes copies in 8bit, with BODY=8BITMIME, over a server that announces 8BITMIME', async () => {
    const emails = Array.from({ length: 6 }, (_, i) => `huit-${i}@exemple.fr`);
    const copies = await secondSend(t, sink, emails);
    const first = sink.to(emails[1]!)[0]!;
    for (const copy of copies) {
      expect(partEncodings(copy.raw)).toEqual(['8bit', '8bit']);
      expect(copy.envelopeBody).toBe('8BITMIME');
      expect(bareLineFeeds(copy.raw)).toBe(0);
      expect(
        copy.raw
          .toString('latin1')
          .split('\r\n')
          .filter((line) => line.length > 998),
      ).toEqual([]);
      // French text as it is, not escaped.
      expect(copy.raw.toString('utf8')).toMatch(/[éèàç]/);
    }
    expect(await headerAddresses(copies[0]!, 'to')).toEqual([{ address: emails[0], name: '.Élodie' }]);
    // The same text as the first send's copy, whatever its encoding, but for its links of the edition.
    const untracked = (text: string | undefined): string | undefined =>
      text?.replace(/\S*\/(r|editions)\/\S*/g, '');
    expect(untracked(copies[1]!.parsed.text)).toBe(untracked(first.parsed.text));
  });

  it('keeps them in quoted-printable over a server that does not', async () => {
    const older = await startSmtpSink({ hide8BitMime: true });
    const app = await startTestApp({ SMTP_URL: older.url, ...FAST_PIPELINE });
    try {
      const emails = Array.from({ length: 3 }, (_, i) => `sept-${i}@exemple.fr`);
      for (const copy of await secondSend(app, older, emails)) {
        expect(partEncodings(copy.raw)).toEqual(['quoted-printable', 'quoted-printable']);
        expect(copy.envelopeBody).toBeUndefined();
        expect(copy.raw.every((byte) => byte < 128)).toBe(true);
        expect(copy.parsed.text).toMatch(/[éèàç]/);
      }
    } finally {
      await app.close();
      await older.close();
    }
  });
});
