import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort } from '../../test/helpers/net.js';
import { median, ROOT } from './service.js';

export interface BootResult {
  /** `npm start`'s first boot in an empty data folder (the build's empty database copied): median. */
  readonly first_seconds: number;
  /** Later boots on that data: the median of the runs. */
  readonly later_seconds: number;
  /** A bare Node `http` server from spawn to its first answer, the same way: the floor. */
  readonly bare_seconds: number;
  readonly later_over_bare: number;
}

/** Seconds from spawning the process to the first 200 at url. */
async function timeToAnswer(start: () => ChildProcess, url: string): Promise<number> {
  const started = performance.now();
  const child = start();
  try {
    const deadline = Date.now() + 120_000;
    for (;;) {
      try {
        if ((await fetch(url)).ok) break;
      } catch {
        // not listening yet
      }
      if (child.exitCode !== null) throw new Error(`${url}: the process exited with ${child.exitCode}`);
      if (Date.now() > deadline) throw new Error(`${url}: no answer after 120 s`);
      await sleep(10);
    }
    return Number(((performance.now() - started) / 1000).toFixed(2));
  } finally {
    // The process leads a group of its own (npm and the service it starts): stop them all.
    const exited = new Promise((resolve) => child.once('exit', resolve));
    if (child.exitCode === null && child.pid !== undefined) process.kill(-child.pid, 'SIGTERM');
    await exited;
  }
}

/** Boot time of `npm start` itself (PGlite, outbox, Redis from REDIS_URL), first and later starts. */
export async function bootBench(runs: number): Promise<BootResult> {
  const folders: string[] = [];
  const dataFolder = (): string => {
    const dir = mkdtempSync(path.join(tmpdir(), 'depeche-boot-'));
    folders.push(dir);
    return dir;
  };
  try {
    const service = async (dataDir: string): Promise<number> => {
      const port = await freePort();
      return timeToAnswer(
        () =>
          spawn('npm', ['start', '--silent'], {
            cwd: ROOT,
            detached: true,
            env: {
              PATH: process.env.PATH ?? '',
              HOME: process.env.HOME ?? tmpdir(),
              DATA_DIR: dataDir,
              PORT: String(port),
              REDIS_URL: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
              QUEUE_PREFIX: `bench-boot-${port}`,
              LOG_LEVEL: 'warn',
            },
            stdio: 'ignore',
          }),
        `http://127.0.0.1:${port}/health`,
      );
    };
    const bare = async (): Promise<number> => {
      const port = await freePort();
      const script = `require('node:http').createServer((q, s) => s.end('ok')).listen(${port}, '127.0.0.1')`;
      return timeToAnswer(
        () => spawn(process.execPath, ['-e', script], { detached: true, stdio: 'ignore' }),
        `http://127.0.0.1:${port}/`,
      );
    };
    const first: number[] = [];
    const later: number[] = [];
    const bares: number[] = [];
    for (let run = 0; run < runs; run += 1) {
      const dataDir = dataFolder();
      first.push(await service(dataDir));
      later.push(await service(dataDir));
      bares.push(await bare());
    }
    return {
      first_seconds: median(first),
      later_seconds: median(later),
      bare_seconds: median(bares),
      later_over_bare: Number((median(later) / median(bares)).toFixed(1)),
    };
  } finally {
    for (const dir of folders) rmSync(dir, { recursive: true, force: true });
  }
}
