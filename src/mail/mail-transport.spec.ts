import { type FSWatcher, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, watch } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Logger } from '@nestjs/common';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../config/app-config.js';
import { MailTransport } from './mail-transport.js';

describe('the outbox', () => {
  let dataDir: string | undefined;
  let watcher: FSWatcher | undefined;
  afterEach(() => {
    watcher?.close();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  it('never shows a watcher half a message, and keeps messages from other users of the machine', async () => {
    dataDir = mkdtempSync(path.join(tmpdir(), 'depeche-outbox-'));
    Logger.overrideLogger(false);
    const transport = new MailTransport(loadConfig({ DATA_DIR: dataDir }));
    const outbox = transport.outboxDir ?? '';
    // Large enough that writing one takes many write calls.
    const message = Buffer.from(`Subject: x\r\n\r\n${'ligne de texte accentuée é\r\n'.repeat(80_000)}`);
    const seen: number[] = [];
    watcher = watch(outbox, (_event, name) => {
      if (!name?.endsWith('.eml')) return;
      try {
        seen.push(readFileSync(path.join(outbox, name)).length);
      } catch {
        // gone between the event and the read: nothing was seen
      }
    });
    await Promise.all(
      Array.from({ length: 20 }, (_, n) =>
        transport.sendRaw({ from: 'a@exemple.fr', to: `b${n}@exemple.fr` }, message, `<m${n}@exemple.fr>`),
      ),
    );
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(seen.length).toBeGreaterThanOrEqual(20);
    expect(seen.filter((length) => length !== message.length)).toEqual([]);
    // Messages carry subscribers' addresses: no other user of the machine may read them.
    expect(statSync(outbox).mode & 0o077).toBe(0);
    const files = readdirSync(outbox);
    expect(files.filter((name) => name.endsWith('.eml'))).toHaveLength(20);
    for (const name of files) expect(statSync(path.join(outbox, name)).mode & 0o077, name).toBe(0);
  });
});
