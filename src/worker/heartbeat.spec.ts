import { mkdtempSync, rmSync, utimesSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { beat, HEARTBEAT_MAX_AGE_MS, heartbeatFile, isAlive } from './heartbeat.js';

describe('the worker heartbeat', () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });

  it('is alive after a beat, dead once the beats stop for longer than the limit, and dead without one', async () => {
    const dataDir = mkdtempSync(path.join(tmpdir(), 'depeche-heartbeat-'));
    dirs.push(dataDir);
    const file = heartbeatFile(dataDir, 'host-a');
    expect(isAlive(file)).toBe(false);
    await beat(file);
    expect(isAlive(file)).toBe(true);
    const old = (Date.now() - HEARTBEAT_MAX_AGE_MS - 1000) / 1000;
    utimesSync(file, old, old);
    expect(isAlive(file)).toBe(false);
    expect(isAlive(heartbeatFile(dataDir, 'host-b'))).toBe(false);
  });
});
