import { Global, Module } from '@nestjs/common';
import { ApiTokensRepository } from './api-tokens.repository.js';
import { EditorsRepository } from './editors.repository.js';

/** Who may edit: editors and their API tokens. Global because every editor API guard reads tokens. */
@Global()
@Module({
  providers: [EditorsRepository, ApiTokensRepository],
  exports: [EditorsRepository, ApiTokensRepository],
})
export class EditorsModule {}
