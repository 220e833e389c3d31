import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort } from '../../test/helpers/net.js';
import { forgetDeployment, median, ROOT } from './service.js';

export interface BootResult {
  /** `npm start`'s first boot in an empty data folder (the build's empty database copied): median. */
  readonly first_seconds: number;
  /** Later boots on that data: the median of the runs. */
  readonly later_seconds: number;
  /** A bare Node `http` server from spawn to its first answer, the same way: the floor. */
  readonly bare_seconds: number;
  readonly later_over_bare: number;
  /** Resident memory of `npm start`'s process, idle after a first look at each kind of page: median. */
  readonly idle_rss_mb: number;
  /** The same of the bare Node server. */
  readonly bare_idle_rss_mb: number;
}

/** The pages a first visitor and an editor open, so that what they load is counted as resident. */
const FIRST_LOOK = ['/', '/search?q=eglise', '/feed.xml', '/newsletter', '/archives', '/admin/sign-in'];

/** The live processes of a group (npm, its shell and the service), as /proc entries. */
function groupMembers(groupId: number): string[] {
  const members: string[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      // The state and the process group are the first and third fields after the command's name.
      const [state, , group] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(group) === groupId && state !== 'Z') members.push(entry);
    } catch {
      // gone meanwhile
    }
  }
  return members;
}

/** The largest resident set among the processes of a group. */
function groupRssMb(groupId: number): number {
  let largest = 0;
  for (const entry of groupMembers(groupId)) {
    try {
      const kb = Number(/^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${entry}/status`, 'utf8'))?.[1] ?? 0);
      largest = Math.max(largest, kb);
    } catch {
      // gone meanwhile
    }
  }
  return Math.round(largest / 1024);
}

/**
 * Seconds from spawning the process to the first 200 at url; with `idle`, also its resident
 * memory a few seconds after a first look at the pages (idle's paths) once it answered.
 */
async function timeToAnswer(
  start: () => ChildProcess,
  url: string,
  idle?: { readonly paths: readonly string[]; readonly rss: number[] },
): Promise<number> {
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
    const seconds = Number(((performance.now() - started) / 1000).toFixed(2));
    if (idle && child.pid !== undefined) {
      for (const page of idle.paths) await (await fetch(new URL(page, url))).arrayBuffer();
      await sleep(3000);
      idle.rss.push(groupRssMb(child.pid));
    }
    return seconds;
  } finally {
    // The process leads a group of its own (npm and the service it starts): stop them all, and
    // wait for the service's own shutdown too (npm may exit first), so that nothing it still
    // writes to Redis outlives the deployment's keys being deleted.
    if (child.exitCode === null && child.pid !== undefined) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      process.kill(-child.pid, 'SIGTERM');
      await exited;
    }
    const deadline = Date.now() + 60_000;
    while (child.pid !== undefined && groupMembers(child.pid).length > 0 && Date.now() < deadline) {
      await sleep(50);
    }
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
    const serviceRss: number[] = [];
    const bareRss: number[] = [];
    const service = async (dataDir: string, measureIdle = false): Promise<number> => {
      const port = await freePort();
      const queuePrefix = `bench-boot-${port}`;
      try {
        return await timeToAnswer(
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
                QUEUE_PREFIX: queuePrefix,
                LOG_LEVEL: 'warn',
              },
              stdio: 'ignore',
            }),
          `http://127.0.0.1:${port}/health`,
          measureIdle ? { paths: FIRST_LOOK, rss: serviceRss } : undefined,
        );
      } finally {
        await forgetDeployment(queuePrefix);
      }
    };
    const bare = async (): Promise<number> => {
      const port = await freePort();
      const script = `require('node:http').createServer((q, s) => s.end('ok')).listen(${port}, '127.0.0.1')`;
      return timeToAnswer(
        () => spawn(process.execPath, ['-e', script], { detached: true, stdio: 'ignore' }),
        `http://127.0.0.1:${port}/`,
        { paths: ['/'], rss: bareRss },
      );
    };
    const first: number[] = [];
    const later: number[] = [];
    const bares: number[] = [];
    for (let run = 0; run < runs; run += 1) {
      const dataDir = dataFolder();
      first.push(await service(dataDir));
      later.push(await service(dataDir, true));
      bares.push(await bare());
    }
    return {
      first_seconds: median(first),
      later_seconds: median(later),
      bare_seconds: median(bares),
      later_over_bare: Number((median(later) / median(bares)).toFixed(1)),
      idle_rss_mb: median(serviceRss),
      bare_idle_rss_mb: median(bareRss),
    };
  } finally {
    for (const dir of folders) rmSync(dir, { recursive: true, force: true });
  }
}
