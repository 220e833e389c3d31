import type { TestProject } from 'vitest/node';
import {
  MissingPackages,
  missingPrograms,
  resolvePostgres,
  resolveRedis,
  type TestService,
} from './test-services.js';

/**
 * Before any test: Redis and PostgreSQL that answer (started privately when none does), Chromium
 * and SpamAssassin. What is missing is said in one line, with the Debian packages to install. Every
 * project runs this set-up; the first finds or starts the services, the others reuse them.
 */
const started: TestService[] = [];

function stop(): Promise<void> {
  return started
    .splice(0)
    .reverse()
    .reduce(async (previous, service) => {
      await previous;
      await service.stop?.();
    }, Promise.resolve());
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  if (process.env.DEPECHE_TEST_SERVICES !== 'ready') {
    try {
      const missing = missingPrograms();
      if (missing.length > 0) throw new MissingPackages(missing);
      const redis = await resolveRedis();
      started.push(redis);
      const postgres = await resolvePostgres();
      started.push(postgres);
      process.env.TEST_REDIS_URL = redis.url;
      process.env.TEST_POSTGRES_URL = postgres.url;
      process.env.DEPECHE_TEST_SERVICES = 'ready';
    } catch (error) {
      await stop();
      // One line, not a stack: the cause is outside the code.
      process.stderr.write(`\n${error instanceof Error ? error.message : String(error)}\n\n`);
      process.exit(1);
    }
  }
  project.provide('testRedisUrl', process.env.TEST_REDIS_URL ?? '');
  project.provide('testPostgresUrl', process.env.TEST_POSTGRES_URL ?? '');
  return stop;
}

declare module 'vitest' {
  export interface ProvidedContext {
    testRedisUrl: string;
    testPostgresUrl: string;
  }
}
