import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { TestProject } from 'vitest/node';
import { DatabaseClient } from '../../src/database/database-client.js';
import { ensureBuilt } from '../../scripts/build.mjs';

/**
 * Before the suite: dist/ built, and a migrated PGlite template. Creating a PGlite database costs seconds (initdb in WebAssembly); reopening a copy costs a
 * fraction. One migrated database is made per run and each test file starts from a copy of it.
 */
export default async function setup(project: TestProject): Promise<() => void> {
  // Tests that start dist/main.js as `npm start` does find it built from the sources under test,
  // built once here rather than inside a test's own set-up.
  await ensureBuilt();
  const dataDir = mkdtempSync(path.join(tmpdir(), 'depeche-pglite-template-'));
  const client = await DatabaseClient.open({ url: undefined, dataDir });
  await client.migrate();
  await client.close();
  project.provide('pgliteTemplate', path.join(dataDir, 'pglite'));
  return () => {
    rmSync(dataDir, { recursive: true, force: true });
  };
}

declare module 'vitest' {
  export interface ProvidedContext {
    pgliteTemplate: string;
  }
}
