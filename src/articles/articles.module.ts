import { Module } from '@nestjs/common';
import { EditorAuthGuard } from '../http/editor-auth.guard.js';
import { ArticlesAdminController } from './articles-admin.controller.js';
import { ArticlesRepository } from './articles.repository.js';
import { ArticlesService } from './articles.service.js';
import { EditorsModule } from '../editors/editors.module.js';

@Module({
  imports: [EditorsModule],
  controllers: [ArticlesAdminController],
  providers: [ArticlesRepository, ArticlesService, EditorAuthGuard],
  exports: [ArticlesRepository, ArticlesService],
})
export class ArticlesModule {}
