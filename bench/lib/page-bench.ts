import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import autocannon from 'autocannon';
import { freePort } from '../../test/helpers/net.js';
import { ROOT, startService } from './service.js';

export interface LoadResult {
  readonly requests_per_second: number;
  readonly p99_ms: number;
  readonly errors: number;
}

export interface PageResult {
  readonly path: string;
  readonly page_bytes: number;
  readonly connections: number;
  readonly seconds: number;
  readonly service: LoadResult;
  readonly bare: LoadResult;
  readonly service_over_bare: number;
}

async function load(url: string, connections: number, seconds: number): Promise<LoadResult> {
  const result = await autocannon({ url, connections, duration: seconds });
  return {
    requests_per_second: Math.round(result.requests.average),
    p99_ms: result.latency.p99,
    errors: result.errors + result.non2xx,
  };
}

/**
 * The public article page under load (autocannon, from this process) against a bare Node http
 * server sending the same bytes, each in its own process.
 */
export async function pageBench(
  env: Record<string, string>,
  slug: string,
  seconds: number,
  cpuProfileDir?: string,
): Promise<PageResult> {
  const connections = 10;
  const service = await startService(
    { ...env, ROLE: 'api' },
    cpuProfileDir ? ['--cpu-prof', `--cpu-prof-dir=${cpuProfileDir}`] : [],
  );
  const dir = mkdtempSync(path.join(tmpdir(), 'depeche-page-'));
  const port = await freePort();
  const file = path.join(dir, 'page.html');
  const pagePath = `/articles/${slug}`;
  const bare = spawn(
    process.execPath,
    ['--import', 'tsx', path.join(ROOT, 'bench', 'lib', 'bare-server-process.ts'), String(port), file],
    {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  try {
    const page = Buffer.from(await (await fetch(`${service.url}${pagePath}`)).arrayBuffer());
    writeFileSync(file, page);
    await new Promise<void>((resolve) =>
      bare.stdout.once('data', () => {
        resolve();
      }),
    );
    // A short warm-up of each, then the measured runs.
    await load(`${service.url}${pagePath}`, connections, 1);
    await load(`http://127.0.0.1:${port}/`, connections, 1);
    const serviceLoad = await load(`${service.url}${pagePath}`, connections, seconds);
    const bareLoad = await load(`http://127.0.0.1:${port}/`, connections, seconds);
    return {
      path: pagePath,
      page_bytes: page.length,
      connections,
      seconds,
      service: serviceLoad,
      bare: bareLoad,
      service_over_bare: Number((serviceLoad.requests_per_second / bareLoad.requests_per_second).toFixed(3)),
    };
  } finally {
    bare.kill('SIGTERM');
    await service.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
