import { mkdirSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Inject, Injectable, Logger, type OnApplicationShutdown } from '@nestjs/common';
import nodemailer, { type SendMailOptions, type Transporter } from 'nodemailer';
import type { AppConfig, DkimSettings } from '../config/app-config.js';
import { APP_CONFIG } from '../config/config.module.js';

export interface SentMail {
  readonly messageId: string;
  /** The SMTP server's last reply, or where the outbox file went. */
  readonly response: string;
}

/**
 * The header fields DKIM signs: nodemailer's default list, plus List-Unsubscribe-Post and
 * Feedback-ID, which it leaves out and which providers want signed before they trust one-click
 * unsubscribe and feedback loops.
 */
export const DKIM_SIGNED_FIELDS = [
  'From',
  'Sender',
  'Reply-To',
  'Subject',
  'Date',
  'Message-ID',
  'To',
  'Cc',
  'MIME-Version',
  'Content-Type',
  'Content-Transfer-Encoding',
  'Content-ID',
  'Content-Description',
  'In-Reply-To',
  'References',
  'List-Id',
  'List-Help',
  'List-Unsubscribe',
  'List-Unsubscribe-Post',
  'List-Subscribe',
  'List-Post',
  'List-Owner',
  'List-Archive',
  'Feedback-ID',
  'Precedence',
].join(':');

function dkimOptions(dkim: DkimSettings | undefined): Record<string, unknown> {
  return dkim ? { dkim: { ...dkim, headerFieldNames: DKIM_SIGNED_FIELDS } } : {};
}

/** The parts of an SMTP URL nodemailer's pooled transport takes as options. */
function smtpOptions(smtpUrl: string): Record<string, unknown> {
  const url = new URL(smtpUrl);
  const secure = url.protocol === 'smtps:';
  return {
    host: url.hostname,
    port: Number(url.port || (secure ? 465 : 587)),
    secure,
    ...(url.username
      ? { auth: { user: decodeURIComponent(url.username), pass: decodeURIComponent(url.password) } }
      : {}),
    pool: true,
    maxConnections: 5,
    maxMessages: Infinity,
  };
}

/**
 * Hands messages to the SMTP server of SMTP_URL, or, without one, writes each as a .eml file in
 * DATA_DIR/outbox so that a new installation shows what it would send.
 */
@Injectable()
export class MailTransport implements OnApplicationShutdown {
  private readonly logger = new Logger(MailTransport.name);
  private readonly transporter: Transporter;
  readonly outboxDir: string | undefined;

  constructor(@Inject(APP_CONFIG) config: AppConfig) {
    if (config.smtpUrl !== undefined) {
      this.transporter = nodemailer.createTransport({
        ...smtpOptions(config.smtpUrl),
        ...dkimOptions(config.dkim),
      });
    } else {
      this.outboxDir = path.join(config.dataDir, 'outbox');
      mkdirSync(this.outboxDir, { recursive: true });
      this.transporter = nodemailer.createTransport({
        streamTransport: true,
        buffer: true,
        newline: 'windows',
        ...dkimOptions(config.dkim),
      });
    }
  }

  async send(mail: SendMailOptions): Promise<SentMail> {
    const info = (await this.transporter.sendMail(mail)) as {
      messageId: string;
      response?: string;
      message?: Buffer;
    };
    if (this.outboxDir === undefined || !(info.message instanceof Buffer)) {
      return { messageId: info.messageId, response: info.response ?? '' };
    }
    const stamp = new Date().toISOString().replace(/[:.]/g, '-');
    const safeId = info.messageId.replace(/[^A-Za-z0-9@._-]/g, '');
    const file = path.join(this.outboxDir, `${stamp}-${safeId}.eml`);
    await writeFile(file, info.message);
    this.logger.log({ file }, 'Message written to the outbox');
    return { messageId: info.messageId, response: `written to ${file}` };
  }

  /** A message composed elsewhere, sent as it is to one recipient. */
  sendRaw(envelope: { from: string; to: string }, raw: Buffer, messageId: string): Promise<SentMail> {
    return this.send({ envelope, raw, messageId });
  }

  onApplicationShutdown(): void {
    this.transporter.close();
  }
}
