import { randomUUID } from 'node:crypto';
import { and, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  addressHashOf,
  messageEvents,
  type SubscriberRow,
  subscribers,
  suppressions,
} from '../src/database/schema.js';
import { InboundMailServer } from '../src/feedback/inbound-mail.server.js';
import { seedAudience } from './helpers/audience.js';
import { type CorpusFields, fromCorpus, INBOUND_ENV, sendInbound } from './helpers/inbound.js';
import { FAST_PIPELINE, finished, publishedArticle, scheduledEdition } from './helpers/editions.js';
import { eventually, type ReceivedMail, type SmtpSink, startSmtpSink } from './helpers/smtp-sink.js';
import { startTestApp, subscriberByEmail, type TestApp } from './helpers/test-app.js';

const VERP = INBOUND_ENV.VERP_ADDRESS;
const UNSUBSCRIBE_BOX = 'retours+unsubscribe@blog.example.test';

/** A copy of an edition as the subscriber's server saw it: what a report about it quotes. */
interface Copy {
  readonly email: string;
  readonly subscriber: SubscriberRow;
  readonly envelopeFrom: string;
  readonly messageId: string;
  readonly mail: ReceivedMail;
}

/** A message of the corpus, filled in as a report about this copy. */
function fromCopy(name: string, copy: Copy, extra: Partial<CorpusFields> = {}): string {
  return fromCorpus(name, {
    VERP: copy.envelopeFrom,
    FEEDBACK_ADDRESS: VERP,
    UNSUBSCRIBE_ADDRESS: UNSUBSCRIBE_BOX,
    RECIPIENT: copy.email,
    MESSAGE_ID: copy.messageId,
    ...extra,
  });
}

describe('the inbound mail listener', () => {
  let t: TestApp;
  let sink: SmtpSink;
  let port: number;
  let copies: Map<string, Copy>;
  let secondCopies: Map<string, Copy>;
  let editionIds: string[];

  /** Hands a message to the listener as a mail server would, with the null sender of reports. */
  const send = (to: string | string[], raw: string | Buffer, from = '') => sendInbound(port, to, raw, from);

  async function deliver(to: string | string[], raw: string | Buffer, from = ''): Promise<string> {
    return (await send(to, raw, from)).response;
  }

  async function refused(
    to: string,
    raw: string | Buffer,
  ): Promise<{ responseCode: number; response: string }> {
    const error = await deliver(to, raw).then(
      () => undefined,
      (failure: unknown) => failure as { responseCode: number; response: string },
    );
    expect(error, `a message to ${to} was accepted`).toBeDefined();
    return error!;
  }

  async function eventsOf(subscriberId: string) {
    return t.database.db.select().from(messageEvents).where(eq(messageEvents.subscriberId, subscriberId));
  }

  async function statusOf(subscriberId: string) {
    const [row] = await t.database.db.select().from(subscribers).where(eq(subscribers.id, subscriberId));
    return row?.status;
  }

  async function suppressionOf(email: string) {
    const [row] = await t.database.db
      .select()
      .from(suppressions)
      .where(eq(suppressions.addressHash, addressHashOf(email)));
    return row?.reason;
  }

  async function copiesOf(editionId: string, emails: readonly string[]): Promise<Map<string, Copy>> {
    const found = new Map<string, Copy>();
    for (const email of emails) {
      const mail = (await sink.waitFor(email, 1)).find((m) => m.parsed.messageId?.includes(editionId));
      const subscriber = await subscriberByEmail(t, email);
      found.set(email, {
        email,
        subscriber: subscriber!,
        envelopeFrom: mail!.envelopeFrom,
        messageId: `<${mail!.parsed.messageId!.replace(/^<|>$/g, '')}>`,
        mail: mail!,
      });
    }
    return found;
  }

  beforeAll(async () => {
    sink = await startSmtpSink();
    t = await startTestApp({
      SMTP_URL: sink.url,
      ...INBOUND_ENV,
      INBOUND_MAX_BYTES: String(256 * 1024),
      SOFT_BOUNCE_LIMIT: '2',
      ...FAST_PIPELINE,
    });
    port = t.app.get(InboundMailServer).port!;
    const article = await publishedArticle(t);
    const audience = await seedAudience(t, { free: 25, premium: 0 }, 'retour');
    const first = await scheduledEdition(t, article.id);
    await finished(t, first.id);
    copies = await copiesOf(first.id, audience.free);
    const second = await scheduledEdition(t, article.id);
    await finished(t, second.id);
    secondCopies = await copiesOf(second.id, audience.free);
    editionIds = [first.id, second.id];
  });

  afterAll(async () => {
    await t.close();
    await sink.close();
  });

  /** The copy of the first edition sent to the n-th subscriber, each test its own. */
  const nth = (n: number): Copy => [...copies.values()][n]!;

  it.each([
    [0, 'postfix-user-unknown.eml', '5.1.1'],
    [1, 'gmail-account-disabled.eml', '5.2.1'],
    [2, 'outlook-recipient-not-found.eml', '5.1.10'],
    [3, 'exim-plain-text.eml', '550 5.1.1'],
    [4, 'qmail-plain-text.eml', 'no mailbox here'],
    [5, 'yahoo-failure-notice.eml', 'delivery error'],
  ])(
    'marks subscriber %i bounced and suppresses the address for a hard bounce: %s',
    async (n, name, detail) => {
      const copy = nth(n);
      const raw = fromCopy(name, copy);
      expect(await deliver(copy.envelopeFrom, raw)).toMatch(/^250/);
      expect(await statusOf(copy.subscriber.id)).toBe('bounced');
      expect(await suppressionOf(copy.email)).toBe('hard-bounce');
      // Delivered twice (a relay retrying), it is still one bounce of one edition.
      await deliver(copy.envelopeFrom, raw);
      const events = await eventsOf(copy.subscriber.id);
      expect(events).toHaveLength(1);
      expect(events[0]).toMatchObject({ kind: 'hard-bounce', source: 'smtp', editionId: editionIds[0] });
      expect(events[0]!.detail).toContain(detail);
    },
  );

  it('counts soft bounces, and suppresses an address only once it failed SOFT_BOUNCE_LIMIT editions in a row', async () => {
    const [again, once] = [nth(6), nth(7)];
    await deliver(again.envelopeFrom, fromCopy('gmail-over-quota.eml', again));
    await deliver(once.envelopeFrom, fromCopy('gmail-over-quota.eml', once));
    expect(await statusOf(again.subscriber.id)).toBe('active');
    // The same soft bounce reported again is not a second edition.
    await deliver(again.envelopeFrom, fromCopy('postfix-gave-up-temporary.eml', again));
    expect(await statusOf(again.subscriber.id)).toBe('active');
    expect(await eventsOf(again.subscriber.id)).toHaveLength(1);

    const secondCopy = secondCopies.get(again.email)!;
    await deliver(secondCopy.envelopeFrom, fromCopy('postfix-gave-up-temporary.eml', secondCopy));
    expect(await statusOf(again.subscriber.id)).toBe('bounced');
    expect(await suppressionOf(again.email)).toBe('soft-bounce');
    expect((await eventsOf(again.subscriber.id)).map((e) => [e.kind, e.editionId]).sort()).toEqual(
      [
        ['soft-bounce', editionIds[0]],
        ['soft-bounce', editionIds[1]],
      ].sort(),
    );
    expect(await statusOf(once.subscriber.id)).toBe('active');
    expect(await suppressionOf(once.email)).toBeUndefined();
  });

  it('ignores delay notices and auto-replies', async () => {
    const copy = nth(8);
    for (const name of ['postfix-delayed.eml', 'auto-reply-french.eml', 'auto-reply-outlook.eml'])
      expect(
        await deliver(copy.envelopeFrom, fromCopy(name, copy), name.startsWith('auto') ? copy.email : ''),
      ).toMatch(/^250/);
    expect(await eventsOf(copy.subscriber.id)).toEqual([]);
    expect(await statusOf(copy.subscriber.id)).toBe('active');
  });

  it.each([
    [9, 'arf-yahoo-abuse.eml', 'Yahoo!-Mail-Feedback/2.0'],
    [10, 'arf-aol-headers-only.eml', 'AOL SComp'],
  ])(
    'turns a feedback-loop complaint into a complained subscriber, attributed to the edition: %i %s',
    async (n, name, agent) => {
      const copy = nth(n);
      expect(await deliver(VERP, fromCopy(name, copy))).toMatch(/^250/);
      expect(await statusOf(copy.subscriber.id)).toBe('complained');
      expect(await suppressionOf(copy.email)).toBe('complaint');
      const events = await eventsOf(copy.subscriber.id);
      expect(events).toHaveLength(1);
      expect(events[0]).toMatchObject({
        kind: 'complaint',
        editionId: editionIds[0],
        detail: `abuse (${agent})`,
      });
    },
  );

  it('unsubscribes whoever mails the List-Unsubscribe address with their token, within seconds', async () => {
    const copy = nth(11);
    const header = /^List-Unsubscribe:.*(?:\r\n[ \t].*)*/im.exec(copy.mail.raw.toString('utf8'))?.[0] ?? '';
    const mailto = /<mailto:([^?>]+)\?subject=([^>]+)>/.exec(header.replace(/\r\n[ \t]+/g, ' '));
    expect(mailto?.[1]).toBe(UNSUBSCRIBE_BOX);
    const subject = decodeURIComponent(mailto![2]!);
    const token = subject.replace(/^unsubscribe /, '');
    expect(
      await deliver(
        UNSUBSCRIBE_BOX,
        fromCopy('mailto-unsubscribe-gmail.eml', copy, { TOKEN: token }),
        copy.email,
      ),
    ).toMatch(/^250/);
    expect(await statusOf(copy.subscriber.id)).toBe('unsubscribed');
    const events = await eventsOf(copy.subscriber.id);
    expect(events).toMatchObject([{ kind: 'unsubscribe', source: 'mailto', editionId: editionIds[1] }]);

    // What came back about their messages is theirs: in their data export, and gone with erasure.
    const exported = (await t.request({ method: 'GET', url: `/preferences/${token}/export` })).json();
    expect(exported.events).toEqual([
      {
        kind: 'unsubscribe',
        source: 'mailto',
        edition: expect.any(String),
        detail: 'mailto',
        at: expect.any(String),
      },
    ]);
    expect((await t.request({ method: 'POST', url: `/preferences/${token}/erase` })).statusCode).toBe(200);
    expect(await eventsOf(copy.subscriber.id)).toEqual([]);
  });

  it('does nothing for forged reports and tokens', async () => {
    const copy = nth(12);
    const other = nth(13);
    const token = `${copy.subscriber.id.replace(/-/g, '').slice(0, 22)}.${'0'.repeat(64)}`;
    const forgeries: [string, string][] = [
      // A token of the right shape whose signature is not ours.
      [UNSUBSCRIBE_BOX, fromCopy('mailto-unsubscribe-gmail.eml', copy, { TOKEN: token })],
      // A bounce for a subscriber id nobody has.
      [`retours+${randomUUID()}@blog.example.test`, fromCopy('postfix-user-unknown.eml', copy)],
      // A complaint at the plain address quoting a copy the ledger never sent: this edition, someone else.
      [
        VERP,
        fromCopy('arf-yahoo-abuse.eml', copy, {
          MESSAGE_ID: `<${editionIds[0]}.${randomUUID()}@blog.example.test>`,
        }),
      ],
      [
        VERP,
        fromCopy('arf-yahoo-abuse.eml', copy, {
          MESSAGE_ID: `<${randomUUID()}.${copy.subscriber.id}@blog.example.test>`,
        }),
      ],
      // A bounce at another subscriber's address quoting this one's copy: the address decides.
      [other.envelopeFrom, fromCopy('postfix-user-unknown.eml', copy)],
      // Bounces at the plain address that quote nothing.
      [VERP, fromCopy('qmail-plain-text.eml', copy, { MESSAGE_ID: '<elsewhere@example.org>' })],
    ];
    for (const [to, raw] of forgeries) expect(await deliver(to, raw)).toMatch(/^250/);
    expect(await statusOf(copy.subscriber.id)).toBe('active');
    expect(await eventsOf(copy.subscriber.id)).toEqual([]);
    // Only `other` could have been sent mail with that envelope: the bounce is its own, of the last
    // edition it was sent, since the quoted copy is not one of its copies.
    expect((await eventsOf(other.subscriber.id)).map((e) => [e.kind, e.editionId])).toEqual([
      ['hard-bounce', editionIds[1]],
    ]);
  });

  it('refuses other addresses, oversized messages and too many recipients, and keeps taking mail', async () => {
    const copy = nth(14);
    const raw = fromCopy('postfix-user-unknown.eml', copy);
    expect((await refused('someone@blog.example.test', raw)).responseCode).toBe(550);
    expect((await refused('retours+not-a-subscriber@blog.example.test', raw)).responseCode).toBe(550);
    expect((await refused('retours@elsewhere.example', raw)).responseCode).toBe(550);
    const huge = `${raw}\r\n${'x'.repeat(76)}\r\n`.repeat(4000);
    expect((await refused(copy.envelopeFrom, huge)).responseCode).toBe(552);
    const many = Array.from({ length: 12 }, () => `retours+${randomUUID()}@blog.example.test`);
    const crowded = await send(many, raw);
    expect(crowded.rejected).toHaveLength(2);
    expect(crowded.rejectedErrors?.map((error) => (error as { responseCode?: number }).responseCode)).toEqual(
      [452, 452],
    );
    expect(await statusOf(copy.subscriber.id)).toBe('active');
    // Unreadable mail is taken and dropped; the listener goes on.
    const garbage = [
      Buffer.from([0, 255, 13, 10, 13, 10, 0x80, 0x81]),
      'Content-Type: multipart/report; boundary=\r\n\r\n--\r\n--\r\n',
    ];
    for (const message of garbage) expect(await deliver(copy.envelopeFrom, message)).toMatch(/^250/);
    expect(await deliver(copy.envelopeFrom, raw)).toMatch(/^250/);
    expect(await statusOf(copy.subscriber.id)).toBe('bounced');
  });

  it('keeps a report whose words hold control characters, without them', async () => {
    const copy = nth(24);
    const raw = fromCopy('postfix-user-unknown.eml', copy).replace(
      'User unknown in virtual mailbox table\r\n\r\n--',
      'User unknown\u0000 in\u0007 virtual mailbox table\r\n\r\n--',
    );
    expect(raw).toContain('\u0000');
    expect(await deliver(copy.envelopeFrom, raw)).toMatch(/^250/);
    expect(await statusOf(copy.subscriber.id)).toBe('bounced');
    const [event] = await eventsOf(copy.subscriber.id);
    expect(event!.detail).toContain('User unknown in virtual mailbox table');
  });

  it('takes a bounce for an erased subscriber without a trace', async () => {
    const copy = nth(15);
    await t.database.db.delete(subscribers).where(eq(subscribers.id, copy.subscriber.id));
    expect(await deliver(copy.envelopeFrom, fromCopy('postfix-user-unknown.eml', copy))).toMatch(/^250/);
    expect(await eventsOf(copy.subscriber.id)).toEqual([]);
    const written = await t.database.db
      .select()
      .from(suppressions)
      .where(
        and(eq(suppressions.addressHash, addressHashOf(copy.email)), eq(suppressions.reason, 'hard-bounce')),
      );
    expect(written).toEqual([]);
  });

  it('writes reports arriving together in batches, each with its effect', async () => {
    const batch = [16, 17, 18, 19, 20, 21, 22, 23].map(nth);
    const answers = await Promise.all(
      batch.map((copy) => deliver(copy.envelopeFrom, fromCopy('postfix-user-unknown.eml', copy))),
    );
    expect(answers.every((answer) => answer.startsWith('250'))).toBe(true);
    await eventually(async () => {
      const statuses = await Promise.all(batch.map((copy) => statusOf(copy.subscriber.id)));
      return statuses.every((status) => status === 'bounced') ? statuses : undefined;
    });
  });
});
