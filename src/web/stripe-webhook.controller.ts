import {
  Controller,
  Headers,
  HttpCode,
  Inject,
  NotFoundException,
  Post,
  Req,
  ServiceUnavailableException,
} from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { FastifyRequest } from 'fastify';
import { InvalidInputException } from '../http/api-error.js';
import { TakesBody } from '../http/request-bodies.js';
import { PaymentsService } from '../payments/payments.service.js';
import { PaymentProviderError, StripeGateway } from '../payments/stripe-gateway.js';

/** What the endpoint answers Stripe: 2xx means "do not send it again". */
interface WebhookAnswer {
  readonly received: true;
  readonly applied: boolean;
  readonly reason?: string;
}

/**
 * Stripe's one webhook endpoint. Only an event signed with this endpoint's secret is looked at; a
 * bad signature gets a 400 and changes nothing. An event we cannot apply for now (Stripe out of
 * reach) gets a 503, so that Stripe delivers it again.
 */
@ApiExcludeController()
@Controller('stripe')
export class StripeWebhookController {
  constructor(
    @Inject(PaymentsService) private readonly payments: PaymentsService,
    @Inject(StripeGateway) private readonly gateway: StripeGateway,
  ) {}

  @Post('webhook')
  @HttpCode(200)
  @TakesBody('json-text')
  async receive(
    @Req() request: FastifyRequest,
    @Headers('stripe-signature') signature: string | undefined,
  ): Promise<WebhookAnswer> {
    if (!this.payments.enabled) throw new NotFoundException('Payments are off: no Stripe webhook here');
    if (typeof request.body !== 'string' || request.body === '')
      throw InvalidInputException.field('body', 'expected the JSON event Stripe sends');
    if (!signature) throw InvalidInputException.field('Stripe-Signature', 'header missing');
    let event;
    try {
      event = await this.gateway.verifiedEvent(request.body, signature);
    } catch {
      throw InvalidInputException.field(
        'Stripe-Signature',
        "does not match this endpoint's signing secret (STRIPE_WEBHOOK_SECRET), or the event is too old",
      );
    }
    try {
      const outcome = await this.payments.applyEvent(event);
      return outcome.applied
        ? { received: true, applied: true }
        : { received: true, applied: false, reason: outcome.reason };
    } catch (error) {
      if (error instanceof PaymentProviderError)
        throw new ServiceUnavailableException(`${error.message}; Stripe will deliver the event again`);
      throw error;
    }
  }
}
