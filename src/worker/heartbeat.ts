import { statSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import path from 'node:path';

/**
 * A worker serves no HTTP, so its health shows in a file: touched after every tick that reached
 * the database and Redis, checked by the container's health check (heartbeat-check.ts). One file
 * per host, as workers on several hosts may share DATA_DIR.
 */
export const HEARTBEAT_MAX_AGE_MS = 30_000;

/** Three missed ticks, and never less than HEARTBEAT_MAX_AGE_MS. */
export function heartbeatMaxAgeMs(tickIntervalMs: number): number {
  return Math.max(HEARTBEAT_MAX_AGE_MS, 3 * tickIntervalMs);
}

export function heartbeatFile(dataDir: string, host: string = hostname()): string {
  return path.join(dataDir, 'heartbeats', `worker-${host}`);
}

export async function beat(file: string): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true });
  await writeFile(file, `${new Date().toISOString()}\n`);
}

/** Whether the worker behind this file ticked successfully within the last maxAgeMs. */
export function isAlive(file: string, maxAgeMs = HEARTBEAT_MAX_AGE_MS, now: number = Date.now()): boolean {
  try {
    return now - statSync(file).mtimeMs <= maxAgeMs;
  } catch {
    return false;
  }
}
