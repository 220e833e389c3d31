import { Module } from '@nestjs/common';
import { EditorsModule } from '../editors/editors.module.js';
import { EditorAuthGuard } from '../http/editor-auth.guard.js';
import { MediaAdminController } from './media-admin.controller.js';
import { MediaLibrary } from './media-library.js';

/** Images uploaded by editors: stored at the widths pages need, and served. */
@Module({
  imports: [EditorsModule],
  controllers: [MediaAdminController],
  providers: [MediaLibrary, EditorAuthGuard],
  exports: [MediaLibrary],
})
export class MediaModule {}
