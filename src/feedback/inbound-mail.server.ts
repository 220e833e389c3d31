import { createHash } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import {
  Inject,
  Injectable,
  Logger,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
} from '@nestjs/common';
import { SMTPServer, type SMTPServerDataStream, type SMTPServerSession } from 'smtp-server';
import type { AppConfig, InboundSettings } from '../config/app-config.js';
import { APP_CONFIG } from '../config/config.module.js';
import { domainOf } from '../lib/email-address.js';
import { readReturnPath, type ReturnPathRecipient } from '../mail/copy-identity.js';
import { SubscriberTokens } from '../mail/subscriber-tokens.js';
import { RateLimiter } from '../redis/rate-limiter.js';
import { type Feedback, FeedbackService } from './feedback.service.js';
import { type InboundReport, readInboundReport } from './inbound-report.js';

/** Recipients one message may name: a bounce or report has one, an unsubscribe one. */
const MAX_RECIPIENTS = 10;

function smtpError(code: number, message: string): Error {
  return Object.assign(new Error(message), { responseCode: code });
}

/** What the listener did with one message for one of its addresses, for the log. */
interface Outcome {
  readonly box: ReturnPathRecipient['kind'];
  readonly report: InboundReport['kind'];
  readonly effect: string;
}

/**
 * The inbound SMTP listener (INBOUND_SMTP_PORT): takes mail for VERP_ADDRESS, its
 * +<subscriber id> variants (bounces) and its +unsubscribe variant (the mailto: of List-Unsubscribe),
 * and refuses every other recipient. Each message is read, checked against the database, and
 * answered 250 only once its effect is written; a database failure answers 451 so the sending
 * server tries again later. Oversized messages are refused while they arrive, a client sending
 * too many is deferred, and a message that cannot be read is accepted and dropped with a log line:
 * refusing it would only bring back a bounce of the bounce.
 */
@Injectable()
export class InboundMailServer implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('InboundMail');
  private server: SMTPServer | undefined;
  /** The port listened on, once listening: INBOUND_SMTP_PORT, or the one picked for port 0. */
  port: number | undefined;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(FeedbackService) private readonly feedback: FeedbackService,
    @Inject(SubscriberTokens) private readonly tokens: SubscriberTokens,
    @Inject(RateLimiter) private readonly limiter: RateLimiter,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    const { inbound, verpAddress } = this.config;
    if (!inbound || verpAddress === undefined) return;
    const server = this.create(inbound, verpAddress);
    // Socket errors of one client (resets, timeouts) are that client's; the listener stays up.
    server.on('error', (error) => {
      this.logger.warn({ err: error }, `inbound SMTP client error: ${error.message}`);
    });
    await new Promise<void>((resolve, reject) => {
      const refuse = (error: Error): void => {
        reject(
          new Error(`INBOUND_SMTP_PORT: cannot listen on ${inbound.host}:${inbound.port}: ${error.message}`),
        );
      };
      server.server.once('error', refuse);
      server.listen(inbound.port, inbound.host, () => {
        server.server.off('error', refuse);
        resolve();
      });
    });
    this.server = server;
    this.port = (server.server.address() as AddressInfo).port;
    this.logger.log(`inbound SMTP listening on ${inbound.host}:${this.port} for ${verpAddress}`);
  }

  async onApplicationShutdown(): Promise<void> {
    const server = this.server;
    if (!server) return;
    await new Promise<void>((resolve) => {
      server.close(() => {
        resolve();
      });
    });
  }

  private create(inbound: InboundSettings, verpAddress: string): SMTPServer {
    return new SMTPServer({
      name: domainOf(verpAddress),
      banner: 'Dépêche inbound mail',
      authOptional: true,
      disabledCommands: ['AUTH', 'STARTTLS'],
      size: inbound.maxBytes,
      maxClients: 200,
      socketTimeout: 60_000,
      closeTimeout: 5_000,
      logger: false,
      onMailFrom: (_address, session, callback) => {
        this.allowClient(session, inbound.perMinute).then(
          (allowed) => {
            callback(
              allowed
                ? undefined
                : smtpError(451, '4.7.1 Too many messages from your address; try again later'),
            );
          },
          // Redis cannot say: the mail is let in rather than deferred.
          () => {
            callback();
          },
        );
      },
      onRcptTo: (address, session, callback) => {
        if (session.envelope.rcptTo.length >= MAX_RECIPIENTS) {
          callback(smtpError(452, '4.5.3 Too many recipients'));
          return;
        }
        if (readReturnPath(verpAddress, address.address) === undefined) {
          callback(smtpError(550, '5.1.1 No such mailbox here'));
          return;
        }
        callback();
      },
      onData: (stream, session, callback) => {
        this.receive(stream, inbound.maxBytes).then(
          (raw) => {
            if (raw === undefined) {
              callback(smtpError(552, `5.3.4 Message larger than ${inbound.maxBytes} bytes`));
              return;
            }
            this.take(raw, session, verpAddress).then(
              () => {
                callback();
              },
              (error: unknown) => {
                this.logger.error({ err: error }, 'inbound message could not be recorded; deferred');
                callback(smtpError(451, '4.3.0 Temporary failure; try again later'));
              },
            );
          },
          (error: unknown) => {
            callback(error instanceof Error ? error : new Error(String(error)));
          },
        );
      },
    });
  }

  /** Whether this client may hand over another message this minute (shared by every listener). */
  private async allowClient(session: SMTPServerSession, perMinute: number): Promise<boolean> {
    const decision = await this.limiter.hit('inbound-mail', session.remoteAddress || 'unknown', {
      max: perMinute,
      windowSeconds: 60,
    });
    return decision.allowed;
  }

  /** The whole message, or undefined if it passed the limit (the rest is read and thrown away). */
  private receive(stream: SMTPServerDataStream, maxBytes: number): Promise<Buffer | undefined> {
    return new Promise((resolve, reject) => {
      const chunks: Buffer[] = [];
      let size = 0;
      stream.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size <= maxBytes) chunks.push(chunk);
      });
      stream.once('error', reject);
      stream.once('end', () => {
        resolve(stream.sizeExceeded || size > maxBytes ? undefined : Buffer.concat(chunks));
      });
    });
  }

  private async take(raw: Buffer, session: SMTPServerSession, verpAddress: string): Promise<void> {
    const reportKey = createHash('sha256').update(raw).digest('hex').slice(0, 32);
    const boxes = new Map<string, ReturnPathRecipient>();
    for (const recipient of session.envelope.rcptTo) {
      const box = readReturnPath(verpAddress, recipient.address);
      if (box) boxes.set(box.kind === 'subscriber' ? box.subscriberId : box.kind, box);
    }
    for (const box of boxes.values()) {
      const outcome = await this.takeFor(box, raw, reportKey);
      this.logger.log(
        { ...outcome, remote: session.remoteAddress, bytes: raw.length },
        `inbound ${outcome.report}: ${outcome.effect}`,
      );
    }
  }

  private async takeFor(box: ReturnPathRecipient, raw: Buffer, reportKey: string): Promise<Outcome> {
    let report: InboundReport;
    try {
      report = readInboundReport(raw, box.kind === 'unsubscribe' ? 'unsubscribe' : 'bounces');
    } catch (error) {
      return { box: box.kind, report: 'ignored', effect: `unreadable (${String(error)})` };
    }
    const feedback = this.feedbackOf(box, report, reportKey);
    if (typeof feedback === 'string') return { box: box.kind, report: report.kind, effect: feedback };
    await this.feedback.record(feedback);
    return { box: box.kind, report: report.kind, effect: `${feedback.kind} recorded` };
  }

  /** The feedback a report gives, or why it gives none. */
  private feedbackOf(box: ReturnPathRecipient, report: InboundReport, reportKey: string): Feedback | string {
    switch (report.kind) {
      case 'ignored':
        return report.reason;
      case 'unsubscribe': {
        const subscriberId = this.tokens.verifyManageToken(report.token);
        if (subscriberId === undefined) return 'unsubscribe token not ours: nothing done';
        return {
          kind: 'unsubscribe',
          source: 'mailto',
          subscriberId,
          editionId: undefined,
          namedBy: 'subscriber',
          detail: 'mailto',
          reportKey,
        };
      }
      case 'bounce':
      case 'complaint': {
        // The VERP address names the subscriber; a quoted Message-ID may name the copy. Where both
        // speak they must agree; the ledger then decides whether the copy is believed.
        const named = box.kind === 'subscriber' ? box.subscriberId : report.quoted?.subscriberId;
        if (named === undefined) return `${report.kind} that names no subscriber: nothing done`;
        const editionId = report.quoted?.subscriberId === named ? report.quoted.editionId : undefined;
        const kind =
          report.kind === 'complaint'
            ? 'complaint'
            : report.bounce === 'hard'
              ? 'hard-bounce'
              : 'soft-bounce';
        return {
          kind,
          source: 'smtp',
          subscriberId: named,
          editionId,
          namedBy: box.kind === 'subscriber' ? 'subscriber' : 'copy',
          detail: report.detail,
          reportKey,
        };
      }
    }
  }
}
