import { Module } from '@nestjs/common';
import { ScheduleModule } from '@nestjs/schedule';
import { ArticlesModule } from '../articles/articles.module.js';
import { SchedulerTickService } from './scheduler-tick.service.js';
import { SubscribersModule } from '../subscribers/subscribers.module.js';
import { SubscriptionProcessor } from '../subscribers/subscription.processor.js';
import { EditionsModule } from '../editions/editions.module.js';
import { DeliveryModule } from '../delivery/delivery.module.js';
import { DeliveryProcessor } from '../delivery/delivery.processor.js';
import { QueueModule } from '../queue/queue.module.js';
import { MembersModule } from '../members/members.module.js';
import { MembersProcessor } from '../members/members.processor.js';
import { PaymentsModule } from '../payments/payments.module.js';
import { CommentsModule } from '../comments/comments.module.js';
import { DeskAccountsModule } from '../desk-accounts/desk-accounts.module.js';
import { DeskProcessor } from './desk.processor.js';

@Module({
  imports: [
    ScheduleModule.forRoot(),
    ArticlesModule,
    SubscribersModule,
    EditionsModule,
    DeliveryModule,
    QueueModule,
    MembersModule,
    PaymentsModule,
    CommentsModule,
    DeskAccountsModule,
  ],
  providers: [
    SchedulerTickService,
    SubscriptionProcessor,
    DeliveryProcessor,
    MembersProcessor,
    DeskProcessor,
  ],
})
export class WorkerModule {}
