import { Module } from '@nestjs/common';
import { EditorsModule } from '../editors/editors.module.js';
import { MailModule } from '../mail/mail.module.js';
import { QueueModule } from '../queue/queue.module.js';
import { RateLimiter } from '../redis/rate-limiter.js';
import { DeskAccounts } from './desk-accounts.service.js';

/** Editors' accounts by email: invitations and password resets. */
@Module({
  imports: [EditorsModule, QueueModule, MailModule],
  providers: [DeskAccounts, RateLimiter],
  exports: [DeskAccounts],
})
export class DeskAccountsModule {}
