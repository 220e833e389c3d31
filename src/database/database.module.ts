import { Global, Inject, Module, type OnApplicationShutdown } from '@nestjs/common';
import type { AppConfig } from '../config/app-config.js';
import { APP_CONFIG } from '../config/config.module.js';
import { DatabaseClient } from './database-client.js';

@Global()
@Module({
  providers: [
    {
      provide: DatabaseClient,
      inject: [APP_CONFIG],
      useFactory: async (config: AppConfig): Promise<DatabaseClient> => {
        const client = await DatabaseClient.open({ url: config.databaseUrl, dataDir: config.dataDir });
        await client.migrate();
        return client;
      },
    },
  ],
  exports: [DatabaseClient],
})
export class DatabaseModule implements OnApplicationShutdown {
  constructor(@Inject(DatabaseClient) private readonly client: DatabaseClient) {}

  async onApplicationShutdown(): Promise<void> {
    await this.client.close();
  }
}
