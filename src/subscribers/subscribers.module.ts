import { Module } from '@nestjs/common';
import { DeliveryModule } from '../delivery/delivery.module.js';
import { EditorAuthGuard } from '../http/editor-auth.guard.js';
import { SubscriberImporter } from './subscriber-importer.js';
import { SubscribersAdminController } from './subscribers-admin.controller.js';
import { SubscribersAdminService } from './subscribers-admin.service.js';
import { SubscribersRepository } from './subscribers.repository.js';
import { SubscriptionService } from './subscription.service.js';

@Module({
  imports: [DeliveryModule],
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
