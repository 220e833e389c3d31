import { Module } from '@nestjs/common';
import { EditorsModule } from '../editors/editors.module.js';
import { MailModule } from '../mail/mail.module.js';
import { QueueModule } from '../queue/queue.module.js';
import { RateLimiter } from '../redis/rate-limiter.js';
import { CommentsRepository } from './comments.repository.js';
import { CommentsService } from './comments.service.js';

/** Members' comments on articles and their moderation. */
@Module({
  imports: [QueueModule, MailModule, EditorsModule],
  providers: [CommentsRepository, CommentsService, RateLimiter],
  exports: [CommentsService],
})
export class CommentsModule {}
