import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { readInboundReport } from './inbound-report.js';

const EDITION = '0b6e1c52-3f5a-4e8e-9d3c-2a1f4b5c6d7e';
const SUBSCRIBER = '7d1c2b3a-4e5f-4a6b-8c7d-9e0f1a2b3c4d';
const TOKEN = `${Buffer.alloc(16, 7).toString('base64url')}.${'ab'.repeat(32)}`;

/** A message of the corpus, filled in as if it came back about one copy of an edition. */
function corpus(name: string): Buffer {
  const text = readFileSync(path.resolve('test/fixtures/inbound', name), 'utf8')
    .replaceAll('{{VERP}}', `retours+${SUBSCRIBER}@blog.example.test`)
    .replaceAll('{{FEEDBACK_ADDRESS}}', 'retours@blog.example.test')
    .replaceAll('{{UNSUBSCRIBE_ADDRESS}}', 'retours+unsubscribe@blog.example.test')
    .replaceAll('{{RECIPIENT}}', 'anne@exemple.fr')
    .replaceAll('{{MESSAGE_ID}}', `<${EDITION}.${SUBSCRIBER}@blog.example.test>`)
    .replaceAll('{{SUBJECT}}', '=?UTF-8?Q?Syrie=C2=A0:_la_lettre?=')
    .replaceAll('{{TOKEN}}', TOKEN);
  return Buffer.from(text.replace(/\r?\n/g, '\r\n'), 'utf8');
}

const quoted = { editionId: EDITION, subscriberId: SUBSCRIBER };

describe('readInboundReport', () => {
  it.each([
    ['postfix-user-unknown.eml', 'hard', '5.1.1'],
    ['gmail-account-disabled.eml', 'hard', '5.2.1'],
    ['outlook-recipient-not-found.eml', 'hard', '5.1.10'],
    ['exim-plain-text.eml', 'hard', '550 5.1.1'],
    ['qmail-plain-text.eml', 'hard', '550 Sorry, no mailbox here'],
    ['yahoo-failure-notice.eml', 'hard', "554: delivery error: dd This user doesn't have"],
    ['gmail-over-quota.eml', 'soft', '5.2.2'],
    ['postfix-gave-up-temporary.eml', 'soft', '4.4.1'],
  ])('reads %s as a %s bounce of the quoted copy', (name, bounce, detail) => {
    const report = readInboundReport(corpus(name), 'bounces');
    expect(report).toMatchObject({ kind: 'bounce', bounce, quoted });
    expect(report.kind === 'bounce' && report.detail).toContain(detail);
  });

  it.each([
    ['arf-yahoo-abuse.eml', 'abuse (Yahoo!-Mail-Feedback/2.0)'],
    ['arf-aol-headers-only.eml', 'abuse (AOL SComp)'],
  ])('reads %s as a complaint about the quoted copy', (name, detail) => {
    expect(readInboundReport(corpus(name), 'bounces')).toEqual({ kind: 'complaint', detail, quoted });
  });

  it.each([
    ['postfix-delayed.eml', /without a failure \(delayed\)/],
    ['auto-reply-french.eml', /auto-reply/],
    ['auto-reply-outlook.eml', /auto-reply/],
  ])('ignores %s', (name, reason) => {
    const report = readInboundReport(corpus(name), 'bounces');
    expect(report.kind).toBe('ignored');
    expect(report.kind === 'ignored' && report.reason).toMatch(reason);
  });

  it('reads the token of a mailed unsubscribe, and nothing else at that address', () => {
    expect(readInboundReport(corpus('mailto-unsubscribe-gmail.eml'), 'unsubscribe')).toEqual({
      kind: 'unsubscribe',
      token: TOKEN,
    });
    expect(readInboundReport(corpus('postfix-user-unknown.eml'), 'unsubscribe').kind).toBe('ignored');
    expect(readInboundReport(corpus('auto-reply-french.eml'), 'unsubscribe').kind).toBe('ignored');
  });

  it('reads anything at all without throwing', () => {
    const hostile = [
      Buffer.alloc(0),
      Buffer.from('\r\n\r\n\r\n'),
      Buffer.from('Content-Type: multipart/report; report-type=delivery-status; boundary=""\r\n\r\n--\r\n'),
      Buffer.from(
        `Content-Type: multipart/mixed; boundary=a\r\n\r\n${'--a\r\nContent-Type: multipart/mixed; boundary=a\r\n\r\n'.repeat(5000)}`,
      ),
      Buffer.from('Subject: =?x-unknown?B?####?=\r\nContent-Transfer-Encoding: base64\r\n\r\n!!!!'),
      Buffer.from(Array.from({ length: 4096 }, (_, i) => i % 256)),
    ];
    for (const raw of hostile) expect(readInboundReport(raw, 'bounces').kind).toBe('ignored');
  });

  it('reads a hostile notice of one endless line in one pass', () => {
    // Patterns that backtrack would take hours over these; the reader must simply finish.
    const from = 'From: MAILER-DAEMON@mx.example\r\nSubject: failure notice\r\n\r\n';
    for (const line of [
      '-'.repeat(400_000),
      `${'-'.repeat(200_000)}x${' '.repeat(200_000)}`,
      `550 ${' \t'.repeat(200_000)}`,
    ])
      expect(['bounce', 'ignored']).toContain(readInboundReport(Buffer.from(from + line), 'bounces').kind);
  });
});
