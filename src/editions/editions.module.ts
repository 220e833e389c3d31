import { Module } from '@nestjs/common';
import { DeliveryModule } from '../delivery/delivery.module.js';
import { EditionLifecycleModule } from '../edition-lifecycle/edition-lifecycle.module.js';
import { EditorAuthGuard } from '../http/editor-auth.guard.js';
import { EditionSchedulesAdminController } from './edition-schedules-admin.controller.js';
import { EditionSchedulesRepository } from './edition-schedules.repository.js';
import { EditionSchedulesService } from './edition-schedules.service.js';
import { ReaderLinks } from './reader-links.js';
import { EditionWebVersionService } from './edition-web-version.service.js';
import { EditionsAdminController } from './editions-admin.controller.js';
import { EditionsRepository } from './editions.repository.js';
import { EditionsService } from './editions.service.js';
import { QueueModule } from '../queue/queue.module.js';
import { MailModule } from '../mail/mail.module.js';
import { EditorsModule } from '../editors/editors.module.js';

@Module({
  imports: [DeliveryModule, EditionLifecycleModule, QueueModule, MailModule, EditorsModule],
  controllers: [EditionsAdminController, EditionSchedulesAdminController],
  providers: [
    EditionsRepository,
    EditionsService,
    EditionSchedulesRepository,
    EditionSchedulesService,
    EditionWebVersionService,
    ReaderLinks,
    EditorAuthGuard,
  ],
  exports: [EditionsService, EditionSchedulesService, EditionWebVersionService, ReaderLinks],
})
export class EditionsModule {}
