import { Module } from '@nestjs/common';
import { QueueModule } from '../queue/queue.module.js';
import { SettingsModule } from '../settings/settings.module.js';
import { SubscribersModule } from '../subscribers/subscribers.module.js';
import { PaidSubscriptionsRepository } from './paid-subscriptions.repository.js';
import { PaymentsService } from './payments.service.js';
import { StripeGateway } from './stripe-gateway.js';

/** Readers who pay, through Stripe; the tier following their subscriptions. */
@Module({
  imports: [SubscribersModule, QueueModule, SettingsModule],
  providers: [StripeGateway, PaidSubscriptionsRepository, PaymentsService],
  exports: [PaymentsService, StripeGateway],
})
export class PaymentsModule {}
