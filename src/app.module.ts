import { type DynamicModule, Module } from '@nestjs/common';
import type { AppConfig } from './config/app-config.js';
import { ConfigModule } from './config/config.module.js';
import { DatabaseModule } from './database/database.module.js';
import { SettingsModule } from './settings/settings.module.js';
import { OpsModule } from './ops/ops.module.js';
import { RedisModule } from './redis/redis.module.js';
import { QueueModule } from './queue/queue.module.js';
import { MailModule } from './mail/mail.module.js';
import { WebModule } from './web/web.module.js';
import { WorkerModule } from './worker/worker.module.js';
import { ArticlesModule } from './articles/articles.module.js';
import { EditionsModule } from './editions/editions.module.js';
import { EditorsModule } from './editors/editors.module.js';
import { AdminModule } from './admin/admin.module.js';
import { InboundMailModule } from './feedback/inbound-mail.module.js';

@Module({})
export class AppModule {
  /**
   * The modules of the role(s) this process plays: `api` serves HTTP, `worker` ticks and sends,
   * `inbound` only takes mail; `all` plays every one. The listener runs where INBOUND_SMTP_PORT is
   * set, in any role but `api`.
   */
  static forConfig(config: AppConfig): DynamicModule {
    const { role } = config;
    const servesHttp = role === 'all' || role === 'api';
    const runsWorker = role === 'all' || role === 'worker';
    const takesMail = config.inbound !== undefined && role !== 'api';
    return {
      module: AppModule,
      imports: [
        ConfigModule.forConfig(config),
        DatabaseModule,
        SettingsModule,
        EditorsModule,
        RedisModule,
        QueueModule,
        MailModule,
        ArticlesModule,
        EditionsModule,
        ...(servesHttp ? [WebModule, AdminModule, OpsModule] : []),
        ...(runsWorker ? [WorkerModule] : []),
        ...(takesMail ? [InboundMailModule] : []),
      ],
    };
  }
}
