import { Module } from '@nestjs/common';
import { DeliveryModule } from '../delivery/delivery.module.js';
import { EditorAuthGuard } from '../http/editor-auth.guard.js';
import { SubscriberImporter } from './subscriber-importer.js';
import { SubscribersAdminController } from './subscribers-admin.controller.js';
import { SubscribersAdminService } from './subscribers-admin.service.js';
import { SubscribersRepository } from './subscribers.repository.js';
import { SubscriptionService } from './subscription.service.js';
import { QueueModule } from '../queue/queue.module.js';
import { MailModule } from '../mail/mail.module.js';
import { EditorsModule } from '../editors/editors.module.js';
import { CommentsModule } from '../comments/comments.module.js';

@Module({
  imports: [DeliveryModule, QueueModule, MailModule, EditorsModule, CommentsModule],
  controllers: [SubscribersAdminController],
  providers: [
    SubscribersRepository,
    SubscriptionService,
    SubscribersAdminService,
    SubscriberImporter,
    EditorAuthGuard,
  ],
  exports: [SubscribersRepository, SubscriptionService, SubscribersAdminService, SubscriberImporter],
})
export class SubscribersModule {}
