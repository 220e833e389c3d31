import { inject } from 'vitest';
import { DEFAULT_POSTGRES_URL, DEFAULT_REDIS_URL } from './test-services.js';

/**
 * The Redis and PostgreSQL that the suite's set-up found or started (services-setup.ts). Outside the
 * test runner (the benchmarks share these helpers), the environment's, or the local defaults.
 */
function provided(
  name: 'testRedisUrl' | 'testPostgresUrl',
  fromEnv: string | undefined,
  fallback: string,
): string {
  try {
    return inject(name);
  } catch {
    return fromEnv ?? fallback;
  }
}

export const TEST_REDIS_URL = provided('testRedisUrl', process.env.TEST_REDIS_URL, DEFAULT_REDIS_URL);
export const TEST_POSTGRES_URL = provided(
  'testPostgresUrl',
  process.env.TEST_POSTGRES_URL,
  DEFAULT_POSTGRES_URL,
);
