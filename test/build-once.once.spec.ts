import { cpSync, existsSync, mkdtempSync, rmSync, symlinkSync, utimesSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from './helpers/net.js';
import { TEST_REDIS_URL } from './helpers/services.js';
import { runNode, waitFor } from './helpers/processes.js';

const root = path.resolve(import.meta.dirname, '..');
const REDIS_URL = TEST_REDIS_URL;

/**
 * A checkout of its own (the sources, scripts and templates copied, node_modules linked), so that
 * building and starting it touches nothing of the suite's own dist/.
 */
let checkout: string;
beforeAll(() => {
  checkout = mkdtempSync(path.join(tmpdir(), 'depeche-checkout-'));
  for (const entry of [
    'src',
    'scripts',
    'templates',
    'package.json',
    'package-lock.json',
    'tsconfig.json',
    'tsconfig.build.json',
  ])
    cpSync(path.join(root, entry), path.join(checkout, entry), { recursive: true });
  symlinkSync(path.join(root, 'node_modules'), path.join(checkout, 'node_modules'));
});
afterAll(() => {
  rmSync(checkout, { recursive: true, force: true });
});

describe('building and starting from one checkout', () => {
  it('builds once when several processes start together on a stale build, and each of them serves', async () => {
    const starts = await Promise.all(
      ['a', 'b'].map(async (name) => {
        const port = await freePort();
        return {
          port,
          run: runNode(checkout, ['scripts/start.mjs'], {
            PORT: String(port),
            REDIS_URL,
            QUEUE_PREFIX: `build-once-${port}`,
            DATA_DIR: path.join(checkout, `var-${name}`),
          }),
        };
      }),
    );
    try {
      for (const { run: started } of starts)
        await waitFor('both to serve', () => started.output().includes('Dépêche is serving'));
      const builds = starts.filter(({ run: started }) => started.output().includes('Built dist/ in'));
      expect(builds).toHaveLength(1);
      for (const { port } of starts) expect((await fetch(`http://127.0.0.1:${port}/health`)).ok).toBe(true);
    } finally {
      for (const { run: started } of starts) started.child.kill('SIGTERM');
      for (const { run: started } of starts) await started.exited;
    }
    expect(existsSync(path.join(checkout, '.build-lock'))).toBe(false);
  });

  it('starts a fresh build without building, and rebuilds once a source file changes', async () => {
    const check = runNode(checkout, ['scripts/build.mjs', '--if-stale']);
    expect(await check.exited).toBe(0);
    expect(check.output()).toBe('');

    const touched = path.join(checkout, 'src', 'main.ts');
    const later = new Date(Date.now() + 5000);
    utimesSync(touched, later, later);
    const rebuild = runNode(checkout, ['scripts/build.mjs', '--if-stale']);
    expect(await rebuild.exited).toBe(0);
    expect(rebuild.output()).toContain('src/ changed since the last build: building dist/');
  });
});
