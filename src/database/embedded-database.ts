import { chmodSync, cpSync, existsSync, mkdirSync, readdirSync, renameSync, rmSync } from 'node:fs';
import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { EMBEDDED_DATABASE_TEMPLATE } from '../config/paths.js';

/** The template's modes are the build's (readable by all, for the user that runs it): not the data's. */
function ownerOnly(dir: string): void {
  chmodSync(dir, 0o700);
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const file = path.join(dir, entry.name);
    if (entry.isDirectory()) ownerOnly(file);
    else chmodSync(file, 0o600);
  }
}

/**
 * A first start copies the database the build made (migrated then) rather than initialising a
 * cluster; the copy is renamed into place whole, so a start interrupted mid-copy leaves nothing
 * half-made. Without a template (a build without it), PGlite initialises the folder itself.
 */
function createFromTemplate(dir: string): void {
  if (existsSync(path.join(dir, 'PG_VERSION')) || !existsSync(EMBEDDED_DATABASE_TEMPLATE)) {
    mkdirSync(dir, { recursive: true });
    return;
  }
  const partial = `${dir}.partial`;
  rmSync(partial, { recursive: true, force: true });
  cpSync(EMBEDDED_DATABASE_TEMPLATE, partial, { recursive: true });
  ownerOnly(partial);
  rmSync(dir, { recursive: true, force: true });
  renameSync(partial, dir);
}

/** Embedded databases started ahead of their use, by folder: each is taken once. */
const startedAhead = new Map<string, PGlite>();

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
  createFromTemplate(dir);
  const client = new PGlite(dir);
  // A start that fails is reported by whoever takes the database, not as an unhandled rejection.
  client.waitReady.catch(() => undefined);
  startedAhead.set(dir, client);
}

/** DATA_DIR's embedded database: the one started ahead, else one started now. */
export function openEmbeddedDatabase(dataDir: string): PGlite {
  const dir = folderOf(dataDir);
  const started = startedAhead.get(dir);
  startedAhead.delete(dir);
  if (started) return started;
  createFromTemplate(dir);
  return new PGlite(dir);
}
