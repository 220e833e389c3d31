import { mkdirSync } from 'node:fs';
import { rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Inject, Injectable, Logger, type OnApplicationShutdown } from '@nestjs/common';
import type { SendMailOptions } from 'nodemailer';
import MailComposer from 'nodemailer/lib/mail-composer';
import type { AppConfig } from '../config/app-config.js';
import { APP_CONFIG } from '../config/config.module.js';
import { DkimSigner } from './dkim-signer.js';
import type { BodyEncoding } from './prepared-message.js';
import { type Envelope, SmtpPool } from './smtp-client.js';

export interface SentMail {
  readonly messageId: string;
  /** The SMTP server's last reply, or where the outbox file went. */
  readonly response: string;
}

/** The address part of a nodemailer address field. */
function addressOf(field: SendMailOptions['from']): string {
  if (typeof field === 'string') return field;
  if (Array.isArray(field)) return addressOf(field[0]);
  return field?.address ?? '';
}

/**
 * Hands messages to the SMTP server of SMTP_URL over a pool of pipelined sessions, or, without
 * one, writes each as a .eml file in DATA_DIR/outbox so that a new installation shows what it
 * would send. With DKIM settings every message is signed here, whichever way it goes.
 */
@Injectable()
export class MailTransport implements OnApplicationShutdown {
  private readonly logger = new Logger(MailTransport.name);
  private readonly pool: SmtpPool | undefined;
  private readonly dkim: DkimSigner | undefined;
  readonly outboxDir: string | undefined;

  constructor(@Inject(APP_CONFIG) config: AppConfig) {
    if (config.smtpUrl !== undefined) {
      this.pool = new SmtpPool({
        url: config.smtpUrl,
        maxConnections: config.smtpMaxConnections,
        clientName: new URL(config.publicUrl).hostname,
      });
    } else {
      this.outboxDir = path.join(config.dataDir, 'outbox');
      // Messages carry subscribers' addresses: for this user's eyes only.
      mkdirSync(this.outboxDir, { recursive: true, mode: 0o700 });
    }
    if (config.dkim) this.dkim = new DkimSigner(config.dkim);
  }

  /**
   * How copies composed now should be written: 8bit where the SMTP server announced 8BITMIME,
   * unless they are signed here. A relay that meets a next hop without 8BITMIME rewrites an 8bit
   * body as quoted-printable, which breaks a DKIM signature over it; RFC 6376 5.3 asks signers to
   * sign a 7-bit body for that reason. The outbox keeps quoted-printable, which any tool reads.
   */
  get bodyEncoding(): BodyEncoding {
    return this.pool?.takesEightBit && this.dkim === undefined ? '8bit' : 'quoted-printable';
  }

  /** A message nodemailer composes (transactional mail: one at a time, so composing costs nothing). */
  async send(mail: SendMailOptions & { messageId: string }): Promise<SentMail> {
    // SMTP wants CRLF on the wire; MailComposer writes bare LF unless told.
    const raw = await new MailComposer({ ...mail, newline: 'windows' }).compile().build();
    return this.sendRaw({ from: addressOf(mail.from), to: addressOf(mail.to) }, raw, mail.messageId);
  }

  /** A message composed elsewhere, sent as it is to one recipient. */
  async sendRaw(envelope: Envelope, raw: Buffer, messageId: string): Promise<SentMail> {
    const sent = await this.sendRawIfWanted(envelope, raw, messageId, () => true);
    if (sent === undefined) throw new Error('unreachable: a message nobody withdrew was not sent');
    return sent;
  }

  /**
   * The same, with a last question asked as the message starts (just before MAIL FROM, once an
   * SMTP session is free for it): when it answers false, nothing is sent and this gives undefined.
   */
  async sendRawIfWanted(
    envelope: Envelope,
    raw: Buffer,
    messageId: string,
    stillWanted: () => boolean | Promise<boolean>,
  ): Promise<SentMail | undefined> {
    const message = this.dkim ? this.dkim.sign(raw) : raw;
    if (this.pool) {
      const response = await this.pool.send(envelope, message, stillWanted);
      return response === undefined ? undefined : { messageId, response };
    }
    if (!(await stillWanted())) return undefined;
    const stamp = new Date().toISOString().replace(/[:.]/g, '-');
    const safeId = messageId.replace(/[^A-Za-z0-9@._-]/g, '');
    const name = `${stamp}-${safeId}.eml`;
    const file = path.join(this.outboxDir ?? '', name);
    // Written under another name, then renamed: whatever watches for .eml files never reads half
    // a message.
    const partial = path.join(this.outboxDir ?? '', `.${name}.partial`);
    await writeFile(partial, message, { mode: 0o600 });
    await rename(partial, file);
    this.logger.log({ file }, 'Message written to the outbox');
    return { messageId, response: `written to ${file}` };
  }

  onApplicationShutdown(): void {
    this.pool?.close();
  }
}
