import { Module } from '@nestjs/common';
import { EditorAuthGuard } from '../http/editor-auth.guard.js';
import { ArticlesAdminController } from './articles-admin.controller.js';
import { ArticlesRepository } from './articles.repository.js';
import { ArticlesService } from './articles.service.js';
import { EditorsModule } from '../editors/editors.module.js';
import { MediaModule } from '../media/media.module.js';
import { ArticleImporter } from './article-importer.js';

@Module({
  imports: [EditorsModule, MediaModule],
  controllers: [ArticlesAdminController],
  providers: [ArticlesRepository, ArticlesService, ArticleImporter, EditorAuthGuard],
  exports: [ArticlesRepository, ArticlesService, ArticleImporter],
})
export class ArticlesModule {}
