import path from 'node:path';
import { Module } from '@nestjs/common';
import type { AppConfig } from '../config/app-config.js';
import { APP_CONFIG } from '../config/config.module.js';
import { EditorsModule } from '../editors/editors.module.js';
import { EditorAuthGuard } from '../http/editor-auth.guard.js';
import { MediaAdminController } from './media-admin.controller.js';
import { MediaLibrary } from './media-library.js';
import { DiskMediaStore, MEDIA_STORE, type MediaStore } from './media-store.js';
import { S3MediaStore } from './s3-media-store.js';

/** Images uploaded by editors: stored at the widths pages need (on disk or in a bucket), and served. */
@Module({
  imports: [EditorsModule],
  controllers: [MediaAdminController],
  providers: [
    {
      provide: MEDIA_STORE,
      inject: [APP_CONFIG],
      useFactory: (config: AppConfig): MediaStore =>
        config.s3 ? new S3MediaStore(config.s3) : new DiskMediaStore(path.join(config.dataDir, 'media')),
    },
    MediaLibrary,
    EditorAuthGuard,
  ],
  exports: [MediaLibrary],
})
export class MediaModule {}
