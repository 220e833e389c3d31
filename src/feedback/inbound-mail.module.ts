import { Module } from '@nestjs/common';
import { MailModule } from '../mail/mail.module.js';
import { RateLimiter } from '../redis/rate-limiter.js';
import { FeedbackModule } from './feedback.module.js';
import { InboundMailServer } from './inbound-mail.server.js';

/** The inbound SMTP listener, in the processes that play it (worker, all, or inbound alone). */
@Module({
  imports: [FeedbackModule, MailModule],
  providers: [InboundMailServer, RateLimiter],
})
export class InboundMailModule {}
