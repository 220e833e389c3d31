import { Module } from '@nestjs/common';
import { DeliveryModule } from '../delivery/delivery.module.js';
import { MailModule } from '../mail/mail.module.js';
import { SubscribersModule } from '../subscribers/subscribers.module.js';
import { FeedbackService } from './feedback.service.js';

/** What comes back about messages, applied one way whichever way it arrives. */
@Module({
  imports: [DeliveryModule, SubscribersModule, MailModule],
  providers: [FeedbackService],
  exports: [FeedbackService],
})
export class FeedbackModule {}
