import { Module } from '@nestjs/common';
import { SettingsRepository } from './settings.repository.js';

/** Publication settings an editor changes on the desk. */
@Module({ providers: [SettingsRepository], exports: [SettingsRepository] })
export class SettingsModule {}
