import { type ChildProcess, spawn } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, rmSync, symlinkSync, utimesSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from './helpers/net.js';
import { TEST_REDIS_URL } from './helpers/services.js';
import { PATIENCE_MS } from './helpers/patience.js';

const root = path.resolve(import.meta.dirname, '..');
const REDIS_URL = TEST_REDIS_URL;

interface Run {
  readonly child: ChildProcess;
  output(): string;
  readonly exited: Promise<number | null>;
}

function run(cwd: string, args: string[], env: Record<string, string> = {}): Run {
  const child = spawn(process.execPath, args, {
    cwd,
    env: { PATH: process.env.PATH ?? '', HOME: cwd, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  return { child, output: () => output, exited };
}

async function waitFor(what: string, check: () => boolean, timeoutMs = PATIENCE_MS): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

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
          run: run(checkout, ['scripts/start.mjs'], {
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
    const check = run(checkout, ['scripts/build.mjs', '--if-stale']);
    expect(await check.exited).toBe(0);
    expect(check.output()).toBe('');

    const touched = path.join(checkout, 'src', 'main.ts');
    const later = new Date(Date.now() + 5000);
    utimesSync(touched, later, later);
    const rebuild = run(checkout, ['scripts/build.mjs', '--if-stale']);
    expect(await rebuild.exited).toBe(0);
    expect(rebuild.output()).toContain('src/ changed since the last build: building dist/');
  });
});
