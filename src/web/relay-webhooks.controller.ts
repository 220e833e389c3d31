import { Body, Controller, Headers, HttpCode, Inject, Post, Req } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { FastifyRequest } from 'fastify';
import { RelayWebhooks, type WebhookAnswer } from '../feedback/relay-webhooks.js';
import { TakesBody } from '../http/request-bodies.js';

/**
 * Bounces, complaints and unsubscribes reported by the relay that sends the mail, one endpoint per
 * relay, each verified as that relay signs (see RelayWebhooks). 2xx tells the relay not to send again.
 */
@ApiExcludeController()
@Controller('feedback')
export class RelayWebhooksController {
  constructor(@Inject(RelayWebhooks) private readonly webhooks: RelayWebhooks) {}

  /** SNS posts its JSON as text/plain; the signature covers fields of it, read from the exact text. */
  @Post('ses')
  @HttpCode(200)
  @TakesBody('json-text')
  ses(@Req() request: FastifyRequest): Promise<WebhookAnswer> {
    return this.webhooks.ses(request.body);
  }

  @Post('postmark')
  @HttpCode(200)
  postmark(
    @Body() body: unknown,
    @Headers('authorization') authorization: string | undefined,
  ): Promise<WebhookAnswer> {
    return this.webhooks.postmark(body, authorization);
  }

  @Post('mailgun')
  @HttpCode(200)
  mailgun(@Body() body: unknown): Promise<WebhookAnswer> {
    return this.webhooks.mailgun(body);
  }

  /** A JSON array, signed over its exact bytes. */
  @Post('sendgrid')
  @HttpCode(200)
  @TakesBody('json-text')
  sendgrid(
    @Req() request: FastifyRequest,
    @Headers('x-twilio-email-event-webhook-signature') signature: string | undefined,
    @Headers('x-twilio-email-event-webhook-timestamp') timestamp: string | undefined,
  ): Promise<WebhookAnswer> {
    return this.webhooks.sendgrid(request.body, signature, timestamp);
  }
}
