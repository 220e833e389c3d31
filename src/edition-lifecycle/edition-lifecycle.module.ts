import { Module } from '@nestjs/common';
import { EditionLifecycleRepository } from './edition-lifecycle.repository.js';

/** The life of an edition: its rules, and the one writer of its status. Below delivery and editions. */
@Module({
  providers: [EditionLifecycleRepository],
  exports: [EditionLifecycleRepository],
})
export class EditionLifecycleModule {}
