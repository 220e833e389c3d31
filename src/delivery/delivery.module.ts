import { Module } from '@nestjs/common';
import { EditionLifecycleModule } from '../edition-lifecycle/edition-lifecycle.module.js';
import { SendThrottle } from '../redis/send-throttle.js';
import { DeliveriesRepository } from './deliveries.repository.js';
import { EditionDeliveryService } from './edition-delivery.service.js';
import { SuppressionRepository } from './suppression.repository.js';
import { MessageEventsRepository } from './message-events.repository.js';
import { ClicksRepository } from './clicks.repository.js';
import { FeedbackRetention } from './feedback-retention.js';
import { SettingsModule } from '../settings/settings.module.js';
import { QueueModule } from '../queue/queue.module.js';
import { MailModule } from '../mail/mail.module.js';

/** The send pipeline; its processor is registered by the worker role only. */
@Module({
  imports: [EditionLifecycleModule, QueueModule, MailModule, SettingsModule],
  providers: [
    DeliveriesRepository,
    SuppressionRepository,
    MessageEventsRepository,
    ClicksRepository,
    FeedbackRetention,
    SendThrottle,
    EditionDeliveryService,
  ],
  exports: [
    DeliveriesRepository,
    EditionDeliveryService,
    SuppressionRepository,
    MessageEventsRepository,
    ClicksRepository,
    FeedbackRetention,
  ],
})
export class DeliveryModule {}
