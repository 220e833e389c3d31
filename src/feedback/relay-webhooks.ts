import { Inject, Injectable, Logger, NotFoundException, UnauthorizedException } from '@nestjs/common';
import type { AppConfig } from '../config/app-config.js';
import { APP_CONFIG } from '../config/config.module.js';
import { InvalidInputException } from '../http/api-error.js';
import {
  basicAuthValid,
  mailgunSignatureValid,
  readMailgun,
  readPostmark,
  readSendgrid,
  readSesNotification,
  sendgridSignatureValid,
  snsSignatureValid,
} from './relay-events.js';
import { type RelayOutcome, RelayFeedbackService } from './relay-feedback.service.js';
import { SnsCertificates } from './sns-certificates.js';

export type WebhookAnswer = RelayOutcome | { readonly confirmed: boolean };

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    throw InvalidInputException.field('body', `is not valid JSON (${(error as Error).message})`);
  }
}

/**
 * The relays' webhooks, each checked the way its relay signs before anything is read: SNS's
 * certificate signature (and the topic, which must be one of ours), Postmark's basic auth,
 * Mailgun's HMAC, SendGrid's ECDSA signature. A relay whose secret is not configured is off (404);
 * a call that fails its check gets a 401 and changes nothing.
 */
@Injectable()
export class RelayWebhooks {
  private readonly logger = new Logger('RelayWebhooks');

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(RelayFeedbackService) private readonly relays: RelayFeedbackService,
    @Inject(SnsCertificates) private readonly certificates: SnsCertificates,
  ) {}

  async ses(rawBody: unknown): Promise<WebhookAnswer> {
    const ses = this.config.relays.ses;
    if (!ses) throw new NotFoundException('Amazon SES notifications are off: set SES_SNS_TOPIC_ARNS');
    const message = parseJson(typeof rawBody === 'string' ? rawBody : '');
    if (typeof message !== 'object' || message === null || Array.isArray(message))
      throw InvalidInputException.field('body', 'expected the JSON message SNS sends');
    const sns = message as Record<string, unknown>;
    const certificateUrl = typeof sns['SigningCertURL'] === 'string' ? sns['SigningCertURL'] : '';
    const certificate = await this.certificates.get(certificateUrl);
    if (certificate === undefined || !snsSignatureValid(sns, certificate))
      throw new UnauthorizedException('Signature: not signed by Amazon SNS (SigningCertURL, Signature)');
    if (!ses.topicArns.includes(String(sns['TopicArn'])))
      throw new UnauthorizedException(`TopicArn: not one of SES_SNS_TOPIC_ARNS (${String(sns['TopicArn'])})`);
    if (sns['Type'] === 'SubscriptionConfirmation') {
      const confirmed = await this.certificates.confirm(String(sns['SubscribeURL']));
      this.logger.log({ topic: sns['TopicArn'], confirmed }, 'SNS subscription confirmation');
      return { confirmed };
    }
    if (sns['Type'] !== 'Notification') return { confirmed: false };
    const notification = typeof sns['Message'] === 'string' ? parseJson(sns['Message']) : undefined;
    return this.relays.apply('ses', readSesNotification(notification));
  }

  async postmark(body: unknown, authorization: string | undefined): Promise<WebhookAnswer> {
    const postmark = this.config.relays.postmark;
    if (!postmark) throw new NotFoundException('Postmark webhooks are off: set POSTMARK_WEBHOOK_AUTH');
    if (!basicAuthValid(authorization, postmark.user, postmark.password))
      throw new UnauthorizedException('Authorization: not the credentials of POSTMARK_WEBHOOK_AUTH');
    return this.relays.apply('postmark', readPostmark(body));
  }

  async mailgun(body: unknown): Promise<WebhookAnswer> {
    const key = this.config.relays.mailgunSigningKey;
    if (key === undefined)
      throw new NotFoundException('Mailgun webhooks are off: set MAILGUN_WEBHOOK_SIGNING_KEY');
    if (!mailgunSignatureValid(body, key))
      throw new UnauthorizedException(
        'signature: not signed with MAILGUN_WEBHOOK_SIGNING_KEY in the last 5 minutes',
      );
    return this.relays.apply('mailgun', readMailgun(body));
  }

  async sendgrid(
    rawBody: unknown,
    signature: string | undefined,
    timestamp: string | undefined,
  ): Promise<WebhookAnswer> {
    const key = this.config.relays.sendgridPublicKey;
    if (key === undefined)
      throw new NotFoundException('SendGrid webhooks are off: set SENDGRID_WEBHOOK_PUBLIC_KEY');
    const raw = typeof rawBody === 'string' ? rawBody : '';
    if (!sendgridSignatureValid(key, timestamp, raw, signature))
      throw new UnauthorizedException(
        'X-Twilio-Email-Event-Webhook-Signature: not signed with the key of SENDGRID_WEBHOOK_PUBLIC_KEY in the last 5 minutes',
      );
    return this.relays.apply('sendgrid', readSendgrid(parseJson(raw)));
  }
}
