import { defineConfig } from 'vitest/config';

/**
 * Unit specs sit next to the code; integration tests in test/ run twice, once on the embedded
 * PGlite database and once on PostgreSQL, each file with its own database and queue prefix. Before
 * them, services-setup finds or starts Redis and PostgreSQL and checks the programs they drive.
 */
export default defineConfig({
  // Nest's dependency injection reads decorator metadata: without these, injected services are undefined.
  oxc: { decorator: { legacy: true, emitDecoratorMetadata: true } },
  test: {
    // Outer bounds only: every test waits for events or state (test/helpers/patience.ts), and these
    // leave room for a machine several times slower than a developer's before calling a test hung.
    testTimeout: 600_000,
    hookTimeout: 600_000,
    projects: [
      { extends: true, test: { name: 'unit', include: ['src/**/*.spec.ts'] } },
      {
        extends: true,
        test: {
          name: 'pglite',
          include: ['test/**/*.spec.ts'],
          env: { TEST_DB: 'pglite' },
          globalSetup: ['test/helpers/services-setup.ts', 'test/helpers/global-setup.ts'],
        },
      },
      {
        extends: true,
        test: {
          name: 'postgres',
          include: ['test/**/*.spec.ts'],
          exclude: ['test/**/*.once.spec.ts'],
          env: { TEST_DB: 'postgres' },
          globalSetup: ['test/helpers/services-setup.ts'],
        },
      },
    ],
  },
});
