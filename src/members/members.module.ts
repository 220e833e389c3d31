import { Module } from '@nestjs/common';
import { MailModule } from '../mail/mail.module.js';
import { QueueModule } from '../queue/queue.module.js';
import { RateLimiter } from '../redis/rate-limiter.js';
import { SubscribersModule } from '../subscribers/subscribers.module.js';
import { MemberCookies } from './member-cookies.js';
import { MemberLinks } from './member-links.js';
import { MemberSessions } from './member-sessions.js';
import { MembersService } from './members.service.js';

/** Readers who sign in: links, sessions, and who a request's member is. */
@Module({
  imports: [SubscribersModule, QueueModule, MailModule],
  providers: [MemberLinks, MemberSessions, MembersService, MemberCookies, RateLimiter],
  exports: [MembersService, MemberCookies],
})
export class MembersModule {}
