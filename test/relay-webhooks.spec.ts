import { createHmac, createSign, generateKeyPairSync, randomUUID, sign } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { messageEvents, subscribers } from '../src/database/schema.js';
import { seedAudience } from './helpers/audience.js';
import { FAST_PIPELINE, finished, publishedArticle, scheduledEdition } from './helpers/editions.js';
import { type SmtpSink, startSmtpSink } from './helpers/smtp-sink.js';
import { startTestApp, subscriberByEmail, type TestApp } from './helpers/test-app.js';

const TOPIC = 'arn:aws:sns:eu-west-3:123456789012:ses-feedback';
const POSTMARK_AUTH = 'depeche:postmark-webhook-0123456789';
const MAILGUN_KEY = 'mailgun-signing-key-0123456789abcdef';
const SNS_KEY = readFileSync(path.resolve('test/fixtures/sns/signing-key.pem'), 'utf8');
const SNS_CERTIFICATE = readFileSync(path.resolve('test/fixtures/sns/signing-cert.pem'), 'utf8');
const sendgridKeys = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
const SENDGRID_PUBLIC_KEY = sendgridKeys.publicKey.export({ format: 'der', type: 'spki' }).toString('base64');

/** SNS's string to sign, written from AWS's documentation: "Key\nValue\n" for each signed field, in order. */
function snsSigned(message: Record<string, string>): Record<string, string> {
  const fields =
    message.Type === 'Notification'
      ? ['Message', 'MessageId', 'Subject', 'Timestamp', 'TopicArn', 'Type']
      : ['Message', 'MessageId', 'SubscribeURL', 'Timestamp', 'Token', 'TopicArn', 'Type'];
  const text = fields
    .filter((field) => message[field] !== undefined)
    .map((field) => `${field}\n${message[field]}\n`)
    .join('');
  const signer = createSign('RSA-SHA256');
  signer.update(text);
  return { ...message, SignatureVersion: '2', Signature: signer.sign(SNS_KEY, 'base64') };
}

/** A stand-in for SNS's certificate host and subscription endpoint. */
interface SnsHost {
  readonly origin: string;
  readonly confirmations: string[];
  readonly certificateFetches: string[];
  close(): Promise<void>;
}

async function startSnsHost(): Promise<SnsHost> {
  const confirmations: string[] = [];
  const certificateFetches: string[] = [];
  const server: Server = createServer((request, response) => {
    const url = request.url ?? '';
    if (url.endsWith('.pem')) {
      certificateFetches.push(url);
      response.writeHead(200, { 'content-type': 'application/x-pem-file' }).end(SNS_CERTIFICATE);
    } else if (url.startsWith('/?Action=ConfirmSubscription')) {
      confirmations.push(url);
      response.writeHead(200, { 'content-type': 'text/xml' }).end('<ConfirmSubscriptionResponse/>');
    } else response.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    origin,
    confirmations,
    certificateFetches,
    close: () =>
      new Promise((resolve) => {
        server.close(() => {
          resolve();
        });
      }),
  };
}

describe('relay webhooks', () => {
  let t: TestApp;
  let sink: SmtpSink;
  let sns: SnsHost;
  let editionId: string;
  let emails: string[];

  /** The Message-ID of the copy the n-th subscriber was sent, as a relay quotes it. */
  const messageIdOf = async (email: string): Promise<string> => {
    const [mail] = await sink.waitFor(email, 1);
    return mail!.parsed.messageId!;
  };
  const subscriberOf = async (n: number) => (await subscriberByEmail(t, emails[n]!))!;
  const eventsOf = async (subscriberId: string) =>
    t.database.db.select().from(messageEvents).where(eq(messageEvents.subscriberId, subscriberId));
  const statusOf = async (n: number) => {
    const subscriber = await subscriberOf(n);
    const [row] = await t.database.db.select().from(subscribers).where(eq(subscribers.id, subscriber.id));
    return row!.status;
  };
  const post = (url: string, payload: string, headers: Record<string, string> = {}) =>
    t.request({ method: 'POST', url, payload, headers: { 'content-type': 'application/json', ...headers } });

  beforeAll(async () => {
    sns = await startSnsHost();
    sink = await startSmtpSink();
    t = await startTestApp({
      SMTP_URL: sink.url,
      SES_SNS_TOPIC_ARNS: TOPIC,
      SES_SNS_CERTIFICATE_ORIGIN: sns.origin,
      POSTMARK_WEBHOOK_AUTH: POSTMARK_AUTH,
      MAILGUN_WEBHOOK_SIGNING_KEY: MAILGUN_KEY,
      SENDGRID_WEBHOOK_PUBLIC_KEY: SENDGRID_PUBLIC_KEY,
      ...FAST_PIPELINE,
    });
    const article = await publishedArticle(t);
    emails = (await seedAudience(t, { free: 16, premium: 0 }, 'relais')).free;
    editionId = (await scheduledEdition(t, article.id)).id;
    await finished(t, editionId);
  });

  afterAll(async () => {
    await t.close();
    await sink.close();
    await sns.close();
  });

  describe('Amazon SES through SNS', () => {
    const notification = (message: object, extra: Record<string, string> = {}) =>
      snsSigned({
        Type: 'Notification',
        MessageId: randomUUID(),
        TopicArn: TOPIC,
        Message: JSON.stringify(message),
        Timestamp: new Date().toISOString(),
        SigningCertURL: `${sns.origin}/SimpleNotificationService-test.pem`,
        ...extra,
      });
    const sesBounce = async (n: number, bounceType: string, bounceSubType: string, status: string) => ({
      notificationType: 'Bounce',
      bounce: {
        bounceType,
        bounceSubType,
        feedbackId: `0102018f-${randomUUID()}`,
        timestamp: new Date().toISOString(),
        bouncedRecipients: [
          {
            emailAddress: emails[n],
            action: 'failed',
            status,
            diagnosticCode: `smtp; 550 ${status} user unknown`,
          },
        ],
      },
      mail: { messageId: 'ses-0102018f', commonHeaders: { messageId: await messageIdOf(emails[n]!) } },
    });
    const postSns = (message: object) =>
      post('/feedback/ses', JSON.stringify(message), { 'content-type': 'text/plain; charset=UTF-8' });

    it('confirms its subscription by visiting SNS, once the confirmation is verified', async () => {
      const confirmation = snsSigned({
        Type: 'SubscriptionConfirmation',
        MessageId: randomUUID(),
        Token: 'token-2336412f37',
        TopicArn: TOPIC,
        Message: `You have chosen to subscribe to the topic ${TOPIC}.`,
        SubscribeURL: `${sns.origin}/?Action=ConfirmSubscription&TopicArn=${TOPIC}&Token=token-2336412f37`,
        Timestamp: new Date().toISOString(),
        SigningCertURL: `${sns.origin}/SimpleNotificationService-test.pem`,
      });
      const response = await postSns(confirmation);
      expect(response.statusCode).toBe(200);
      expect(response.json()).toEqual({ confirmed: true });
      expect(sns.confirmations).toHaveLength(1);
    });

    it('marks a permanent bounce and a complaint, each attributed to the edition, once', async () => {
      const bounce = notification(await sesBounce(0, 'Permanent', 'General', '5.1.1'));
      expect((await postSns(bounce)).json()).toEqual({ applied: 1, unknown: 0 });
      expect((await postSns(bounce)).statusCode).toBe(200);
      expect(await statusOf(0)).toBe('bounced');
      expect(await eventsOf((await subscriberOf(0)).id)).toMatchObject([
        { kind: 'hard-bounce', source: 'ses', editionId },
      ]);

      const soft = notification(await sesBounce(1, 'Transient', 'MailboxFull', '4.2.2'));
      await postSns(soft);
      expect(await statusOf(1)).toBe('active');
      expect(await eventsOf((await subscriberOf(1)).id)).toMatchObject([{ kind: 'soft-bounce', editionId }]);

      const complaint = notification({
        notificationType: 'Complaint',
        complaint: {
          complainedRecipients: [{ emailAddress: emails[2] }],
          complaintFeedbackType: 'abuse',
          feedbackId: randomUUID(),
        },
        mail: { commonHeaders: { messageId: await messageIdOf(emails[2]!) } },
      });
      await postSns(complaint);
      expect(await statusOf(2)).toBe('complained');
    });

    it('refuses what SNS did not sign, another topic, and a certificate from anywhere but SNS', async () => {
      const genuine = notification(await sesBounce(3, 'Permanent', 'General', '5.1.1'));
      const tampered = { ...genuine, Message: genuine.Message!.replace(emails[3]!, emails[4]!) };
      const otherTopic = notification(await sesBounce(3, 'Permanent', 'General', '5.1.1'), {
        TopicArn: 'arn:aws:sns:eu-west-3:999999999999:someone-else',
      });
      const fetchesBefore = sns.certificateFetches.length;
      const elsewhere = notification(await sesBounce(3, 'Permanent', 'General', '5.1.1'), {
        SigningCertURL: 'https://certificates.example.org/SimpleNotificationService-test.pem',
      });
      for (const message of [tampered, otherTopic, elsewhere])
        expect((await postSns(message)).statusCode).toBe(401);
      expect(sns.certificateFetches.length).toBe(fetchesBefore);
      expect((await postSns({ ...genuine, Signature: 'AAAA' })).statusCode).toBe(401);
      expect((await post('/feedback/ses', '{"Type":', { 'content-type': 'text/plain' })).statusCode).toBe(
        400,
      );
      expect(await statusOf(3)).toBe('active');
      expect(await statusOf(4)).toBe('active');
    });
  });

  describe('Postmark', () => {
    const auth = `Basic ${Buffer.from(POSTMARK_AUTH).toString('base64')}`;

    it('takes bounces, complaints and unsubscribes with its credentials, and nothing without them', async () => {
      const bounce = JSON.stringify({
        RecordType: 'Bounce',
        ID: 4323372036854775,
        Type: 'HardBounce',
        TypeCode: 1,
        MessageID: '883953f4-6105-42a2-a16a-77a8eac79483',
        Description: 'The server was unable to deliver your message (ex: unknown user, mailbox not found).',
        Details: 'smtp;550 5.1.1 The email account that you tried to reach does not exist.',
        Email: emails[5],
        BouncedAt: new Date().toISOString(),
      });
      expect((await post('/feedback/postmark', bounce)).statusCode).toBe(401);
      expect(
        (await post('/feedback/postmark', bounce, { authorization: 'Basic ZGVwZWNoZTp3cm9uZw==' }))
          .statusCode,
      ).toBe(401);
      expect(await statusOf(5)).toBe('active');
      expect((await post('/feedback/postmark', bounce, { authorization: auth })).json()).toEqual({
        applied: 1,
        unknown: 0,
      });
      await post('/feedback/postmark', bounce, { authorization: auth });
      expect(await statusOf(5)).toBe('bounced');
      expect(await eventsOf((await subscriberOf(5)).id)).toMatchObject([
        { kind: 'hard-bounce', source: 'postmark', editionId },
      ]);

      await post(
        '/feedback/postmark',
        JSON.stringify({ RecordType: 'SpamComplaint', ID: 42, Type: 'SpamComplaint', Email: emails[6] }),
        {
          authorization: auth,
        },
      );
      expect(await statusOf(6)).toBe('complained');
      await post(
        '/feedback/postmark',
        JSON.stringify({
          RecordType: 'SubscriptionChange',
          MessageID: 'a4909a96-73b4-4b1b-9a2d-3cdd4a0f3b1e',
          ChangedAt: new Date().toISOString(),
          Recipient: emails[7],
          Origin: 'Recipient',
          SuppressSending: true,
          SuppressionReason: 'ManualSuppression',
        }),
        { authorization: auth },
      );
      expect(await statusOf(7)).toBe('unsubscribed');
      const unknown = JSON.stringify({
        RecordType: 'Bounce',
        ID: 7,
        Type: 'HardBounce',
        Email: 'personne@exemple.fr',
      });
      expect((await post('/feedback/postmark', unknown, { authorization: auth })).json()).toEqual({
        applied: 0,
        unknown: 1,
      });
    });
  });

  describe('Mailgun', () => {
    const signed = (eventData: object, key = MAILGUN_KEY, secondsAgo = 0) => {
      const timestamp = String(Math.floor(Date.now() / 1000) - secondsAgo);
      const token = randomUUID().replace(/-/g, '');
      const signature = createHmac('sha256', key)
        .update(timestamp + token)
        .digest('hex');
      return JSON.stringify({ signature: { timestamp, token, signature }, 'event-data': eventData });
    };

    it('takes permanent failures, complaints and unsubscribes signed with its key', async () => {
      const failed = {
        event: 'failed',
        id: 'G9Bn5sl1TC6nu79C8C0bwg',
        severity: 'permanent',
        reason: 'bounce',
        recipient: emails[8],
        message: { headers: { 'message-id': (await messageIdOf(emails[8]!)).replace(/^<|>$/g, '') } },
        'delivery-status': { code: 550, 'enhanced-code': '5.1.1', message: 'No such user', description: '' },
      };
      expect((await post('/feedback/mailgun', signed(failed, 'not-the-key-0123456789'))).statusCode).toBe(
        401,
      );
      // Well signed, an hour ago: a replay.
      expect((await post('/feedback/mailgun', signed(failed, MAILGUN_KEY, 3600))).statusCode).toBe(401);
      expect(await statusOf(8)).toBe('active');
      expect((await post('/feedback/mailgun', signed(failed))).json()).toEqual({ applied: 1, unknown: 0 });
      expect(await statusOf(8)).toBe('bounced');
      expect(await eventsOf((await subscriberOf(8)).id)).toMatchObject([
        { kind: 'hard-bounce', source: 'mailgun', editionId },
      ]);

      // Mailgun still trying: nothing yet.
      await post(
        '/feedback/mailgun',
        signed({ ...failed, id: 'temp-1', severity: 'temporary', recipient: emails[9] }),
      );
      expect(await eventsOf((await subscriberOf(9)).id)).toEqual([]);
      await post('/feedback/mailgun', signed({ event: 'complained', id: 'c-1', recipient: emails[9] }));
      expect(await statusOf(9)).toBe('complained');
      await post('/feedback/mailgun', signed({ event: 'unsubscribed', id: 'u-1', recipient: emails[10] }));
      expect(await statusOf(10)).toBe('unsubscribed');
    });
  });

  describe('SendGrid', () => {
    const signedHeaders = (body: string, key = sendgridKeys.privateKey, secondsAgo = 0) => {
      const timestamp = String(Math.floor(Date.now() / 1000) - secondsAgo);
      return {
        'x-twilio-email-event-webhook-timestamp': timestamp,
        'x-twilio-email-event-webhook-signature': sign('sha256', Buffer.from(timestamp + body), key).toString(
          'base64',
        ),
      };
    };

    it('takes a signed batch of events, and refuses a batch changed after signing', async () => {
      const body = JSON.stringify([
        {
          email: emails[11],
          event: 'bounce',
          type: 'bounce',
          status: '5.1.1',
          reason: '550 5.1.1 The email account does not exist',
          sg_event_id: 'sg-1',
          'smtp-id': await messageIdOf(emails[11]!),
          timestamp: 1795770000,
        },
        {
          email: emails[12],
          event: 'bounce',
          type: 'blocked',
          status: '5.7.1',
          reason: '554 5.7.1 blocked for spam',
          sg_event_id: 'sg-2',
        },
        { email: emails[13], event: 'spamreport', sg_event_id: 'sg-3' },
        { email: emails[14], event: 'group_unsubscribe', sg_event_id: 'sg-4' },
        { email: emails[15], event: 'delivered', sg_event_id: 'sg-5' },
      ]);
      const headers = signedHeaders(body);
      const other = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey;
      expect((await post('/feedback/sendgrid', body, signedHeaders(body, other))).statusCode).toBe(401);
      expect(
        (await post('/feedback/sendgrid', body.replace(emails[13]!, emails[15]!), headers)).statusCode,
      ).toBe(401);
      expect((await post('/feedback/sendgrid', body)).statusCode).toBe(401);
      const replayed = await post(
        '/feedback/sendgrid',
        body,
        signedHeaders(body, sendgridKeys.privateKey, 3600),
      );
      expect(replayed.statusCode).toBe(401);
      expect(replayed.json().message).toContain('in the last 5 minutes');
      expect(await statusOf(13)).toBe('active');

      expect((await post('/feedback/sendgrid', body, headers)).json()).toEqual({ applied: 4, unknown: 0 });
      expect(await statusOf(11)).toBe('bounced');
      expect(await eventsOf((await subscriberOf(11)).id)).toMatchObject([
        { kind: 'hard-bounce', source: 'sendgrid', editionId },
      ]);
      expect(await statusOf(12)).toBe('active');
      expect(await eventsOf((await subscriberOf(12)).id)).toMatchObject([{ kind: 'soft-bounce' }]);
      expect(await statusOf(13)).toBe('complained');
      expect(await statusOf(14)).toBe('unsubscribed');
      expect(await statusOf(15)).toBe('active');
    });
  });

  it('answers 404 for a relay that is not configured', async () => {
    const bare = await startTestApp();
    try {
      for (const relay of ['ses', 'postmark', 'mailgun', 'sendgrid']) {
        const response = await bare.request({
          method: 'POST',
          url: `/feedback/${relay}`,
          payload: '{}',
          headers: { 'content-type': 'application/json' },
        });
        expect(response.statusCode, relay).toBe(404);
      }
    } finally {
      await bare.close();
    }
  });
});
