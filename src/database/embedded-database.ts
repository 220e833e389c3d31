import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { Worker } from 'node:worker_threads';
import { PGlite } from '@electric-sql/pglite';
import { EMBEDDED_DATABASE_TEMPLATE } from '../config/paths.js';

/**
 * Copies the template into a new folder and renames it into place whole, so that a start
 * interrupted mid-copy leaves nothing half-made. The template's modes are the build's (readable
 * by all, for the user that runs it), not the data's: the copy is made the owner's alone.
 * Plain CommonJS evaluated in a worker thread (with none of the parent's flags, which could make
 * it a module), so that it runs the same from src/, dist/ and the build.
 */
const COPY_TEMPLATE = `
const { chmodSync, cpSync, readdirSync, renameSync, rmSync } = require('node:fs');
const path = require('node:path');
const { workerData: { template, dir } } = require('node:worker_threads');
function ownerOnly(folder) {
  chmodSync(folder, 0o700);
  for (const entry of readdirSync(folder, { withFileTypes: true })) {
    const file = path.join(folder, entry.name);
    if (entry.isDirectory()) ownerOnly(file);
    else chmodSync(file, 0o600);
  }
}
const partial = dir + '.partial';
rmSync(partial, { recursive: true, force: true });
cpSync(template, partial, { recursive: true });
ownerOnly(partial);
rmSync(dir, { recursive: true, force: true });
renameSync(partial, dir);
`;

/**
 * A first start copies the database the build made (migrated then) rather than initialising a
 * cluster, which takes seconds. The copy (a thousand files) runs on a thread of its own, beside
 * the loading of the service rather than before it. Without a template (a build without it),
 * PGlite initialises the folder itself.
 */
function createFromTemplate(dir: string): Promise<void> {
  if (existsSync(path.join(dir, 'PG_VERSION')) || !existsSync(EMBEDDED_DATABASE_TEMPLATE)) {
    mkdirSync(dir, { recursive: true });
    return Promise.resolve();
  }
  return new Promise((resolve, reject) => {
    const copy = new Worker(COPY_TEMPLATE, {
      eval: true,
      execArgv: [],
      workerData: { template: EMBEDDED_DATABASE_TEMPLATE, dir },
    });
    copy.once('error', reject);
    copy.once('exit', (code) => {
      if (code === 0) resolve();
      else
        reject(new Error(`Copying the embedded database's template into ${dir} stopped with code ${code}`));
    });
  });
}

/**
 * PostgreSQL's defaults are a server's: 128 MB of shared buffers, which PGlite keeps inside its
 * WebAssembly memory, in the process, whether used or not. One process's working set (the
 * articles, the recent ledger) fits in far less; the operating system's cache holds the files.
 */
const EMBEDDED_SETTINGS = ['shared_buffers=16MB'];

/**
 * PGlite is PostgreSQL compiled to WebAssembly (9 MB). V8 compiles it twice by default, quickly
 * (Liftoff) then optimised (TurboFan) where it runs hot, and keeps both: 30 to 70 MB more of
 * machine code. The quick code alone serves the same page throughput here (the database's time goes to
 * moving rows between WebAssembly and JavaScript, not to its own code), so only it is made. Set
 * before PGlite compiles its module; nothing else in the service is WebAssembly.
 */
const WEBASSEMBLY_COMPILER = '--liftoff-only';

async function startIn(dir: string): Promise<PGlite> {
  setFlagsFromString(WEBASSEMBLY_COMPILER);
  await createFromTemplate(dir);
  const client = new PGlite(dir, { postgresqlconf: EMBEDDED_SETTINGS });
  await client.waitReady;
  return client;
}

/** Embedded databases started ahead of their use, by folder: each is taken once. */
const startedAhead = new Map<string, Promise<PGlite>>();

function folderOf(dataDir: string): string {
  return path.join(dataDir, 'pglite');
}

/**
 * Starts DATA_DIR's embedded database ahead of its use: PGlite compiles its WebAssembly and starts
 * PostgreSQL while the rest of the service is still loading, rather than after (a shorter boot).
 */
export function startEmbeddedDatabase(dataDir: string): void {
  const dir = folderOf(dataDir);
  if (startedAhead.has(dir)) return;
  const started = startIn(dir);
  // A start that fails is reported by whoever takes the database, not as an unhandled rejection.
  started.catch(() => undefined);
  startedAhead.set(dir, started);
}

/** DATA_DIR's embedded database: the one started ahead, else one started now. */
export function openEmbeddedDatabase(dataDir: string): Promise<PGlite> {
  const dir = folderOf(dataDir);
  const started = startedAhead.get(dir);
  startedAhead.delete(dir);
  return started ?? startIn(dir);
}
