import { inject } from 'vitest';

/** The Redis and PostgreSQL that the suite's set-up found or started (services-setup.ts). */
export const TEST_REDIS_URL = inject('testRedisUrl');
export const TEST_POSTGRES_URL = inject('testPostgresUrl');
