import { Global, Module } from '@nestjs/common';
import { PublicationSettings } from './publication-settings.js';
import { SettingsRepository } from './settings.repository.js';

/** Publication settings an editor changes on the desk; every module may read the publication. */
@Global()
@Module({
  providers: [SettingsRepository, PublicationSettings],
  exports: [SettingsRepository, PublicationSettings],
})
export class SettingsModule {}
