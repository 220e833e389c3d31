import { Module } from '@nestjs/common';
import { DeliveryModule } from '../delivery/delivery.module.js';
import { MailModule } from '../mail/mail.module.js';
import { SubscribersModule } from '../subscribers/subscribers.module.js';
import { ClickRedirect } from './click-redirect.js';
import { FeedbackService } from './feedback.service.js';
import { RelayFeedbackService } from './relay-feedback.service.js';
import { RelayWebhooks } from './relay-webhooks.js';
import { SnsCertificates } from './sns-certificates.js';

/** What comes back about messages, applied one way whichever way it arrives. */
@Module({
  imports: [DeliveryModule, SubscribersModule, MailModule],
  providers: [FeedbackService, RelayFeedbackService, SnsCertificates, RelayWebhooks, ClickRedirect],
  exports: [FeedbackService, RelayWebhooks, ClickRedirect],
})
export class FeedbackModule {}
