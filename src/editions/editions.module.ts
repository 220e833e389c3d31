import { Module } from '@nestjs/common';
import { DeliveryModule } from '../delivery/delivery.module.js';
import { EditorAuthGuard } from '../http/editor-auth.guard.js';
import { EditionsAdminController } from './editions-admin.controller.js';
import { EditionsRepository } from './editions.repository.js';
import { EditionsService } from './editions.service.js';

@Module({
  imports: [DeliveryModule],
  controllers: [EditionsAdminController],
  providers: [EditionsRepository, EditionsService, EditorAuthGuard],
  exports: [EditionsService],
})
export class EditionsModule {}
