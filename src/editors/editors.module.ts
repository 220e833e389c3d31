import { Module } from '@nestjs/common';
import { ApiTokensRepository } from './api-tokens.repository.js';
import { EditorsRepository } from './editors.repository.js';

/** Who may edit: editors and their API tokens, read by every editor API guard. */
@Module({
  providers: [EditorsRepository, ApiTokensRepository],
  exports: [EditorsRepository, ApiTokensRepository],
})
export class EditorsModule {}
