import { randomUUID } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import type { AppConfig } from '../config/app-config.js';
import { APP_CONFIG } from '../config/config.module.js';
import { PublicationSettings } from '../settings/publication-settings.js';
import { type EmailData, EmailRenderer, type EmailTemplate } from './email-renderer.js';
import { MailTransport, type SentMail } from './mail-transport.js';

export interface Recipient {
  readonly email: string;
  readonly name: string;
}

/** One-to-one messages (confirmation, welcome): rendered per recipient, sent at once. */
@Injectable()
export class TransactionalMailer {
  private readonly domain: string;

  constructor(
    @Inject(EmailRenderer) private readonly renderer: EmailRenderer,
    @Inject(MailTransport) private readonly transport: MailTransport,
    @Inject(PublicationSettings) private readonly publication: PublicationSettings,
    @Inject(APP_CONFIG) config: AppConfig,
  ) {
    this.domain = new URL(config.publicUrl).hostname;
  }

  async send(template: EmailTemplate, to: Recipient, data: EmailData): Promise<SentMail> {
    const { html, text } = await this.renderer.render(template, { ...data, name: to.name });
    // nodemailer encodes non-ASCII names and subjects (RFC 2047) and builds multipart/alternative.
    const { mailFrom, replyTo } = this.publication.current();
    return this.transport.send({
      from: mailFrom,
      ...(replyTo ? { replyTo } : {}),
      to: { name: to.name, address: to.email },
      subject: data.subject,
      messageId: `<${template}.${randomUUID()}@${this.domain}>`,
      text,
      html,
    });
  }
}
