import { randomBytes } from 'node:crypto';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { inject } from 'vitest';
import type { InjectOptions, Response as InjectResponse } from 'light-my-request';
import { createHttpApp } from '../../src/bootstrap.js';
import { type AppConfig, type Env, loadConfig } from '../../src/config/app-config.js';
import { DatabaseClient } from '../../src/database/database-client.js';
import { type SubscriberRow, subscribers } from '../../src/database/schema.js';
import { sql } from 'drizzle-orm';
import { createPostgresDatabase, type TestDatabase, testEngine } from './test-database.js';
import { TEST_REDIS_URL } from './services.js';

export const TEST_TOKEN = 'test-owner-token-0123456789abcdef';
export const PUBLIC_URL = 'https://blog.example.test';

export interface TestApp {
  readonly app: NestFastifyApplication;
  readonly config: AppConfig;
  readonly database: DatabaseClient;
  request(options: InjectOptions): Promise<InjectResponse>;
  /** A request to the editor API with the owner's token. */
  api(method: InjectOptions['method'], url: string, payload?: unknown): Promise<InjectResponse>;
  close(): Promise<void>;
}

/**
 * The real application (real database engine, real Redis) with its own data folder, database and
 * queue prefix, so test files run side by side without seeing each other.
 */
export async function startTestApp(env: Env = {}): Promise<TestApp> {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'depeche-test-'));
  let database: TestDatabase | undefined;
  // An instance given DATABASE_URL joins that database (another process of the same deployment).
  if (env.DATABASE_URL !== undefined) database = undefined;
  else if (testEngine() === 'postgres') database = await createPostgresDatabase();
  else cpSync(inject('pgliteTemplate'), path.join(dataDir, 'pglite'), { recursive: true });
  const config = loadConfig({
    PUBLIC_URL,
    DATA_DIR: dataDir,
    REDIS_URL: TEST_REDIS_URL,
    QUEUE_PREFIX: `test-${randomBytes(5).toString('hex')}`,
    ADMIN_API_TOKEN: TEST_TOKEN,
    LOG_LEVEL: 'silent',
    TICK_INTERVAL_MS: '200',
    PUBLICATION_NAME: 'Le Blog de Dépêche',
    ...(database ? { DATABASE_URL: database.url } : {}),
    ...env,
  });
  let app: NestFastifyApplication | undefined;
  try {
    app = await createHttpApp(config);
    await app.init();
    await app.getHttpAdapter().getInstance().ready();
  } catch (error) {
    // An app that refused to boot (a test of boot errors) leaves no folder or database behind.
    await app?.close().catch(() => undefined);
    await database?.drop();
    rmSync(dataDir, { recursive: true, force: true });
    throw error;
  }
  const request = (options: InjectOptions): Promise<InjectResponse> => app.inject(options);
  return {
    app,
    config,
    database: app.get(DatabaseClient),
    request,
    api: (method, url, payload) =>
      request({
        method,
        url,
        headers: { authorization: `Bearer ${TEST_TOKEN}` },
        ...(payload === undefined ? {} : { payload: payload as InjectOptions['payload'] }),
      }),
    close: async () => {
      // BullMQ's Worker.close() never resolves while Redis is unreachable (bullmq#4656).
      await Promise.race([app.close(), new Promise((resolve) => setTimeout(resolve, 5000))]);
      await database?.drop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** What makes a second instance another process of `first`'s deployment: its database, queues and key. */
export function sameDeployment(first: TestApp): Env {
  return {
    DATABASE_URL: first.config.databaseUrl ?? '',
    QUEUE_PREFIX: first.config.queuePrefix,
    SECRET_KEY: first.config.secretKey,
  };
}

/** The subscriber with this address, in any case, straight from the database. */
export async function subscriberByEmail(t: TestApp, email: string): Promise<SubscriberRow | undefined> {
  const [row] = await t.database.db
    .select()
    .from(subscribers)
    .where(sql`lower(${subscribers.email}) = lower(${email})`);
  return row;
}
