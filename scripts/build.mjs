#!/usr/bin/env node
// Builds dist/ from src/ with TypeScript's compiler, at most once for a given source tree, and
// safely when several processes ask at the same time (an api and a worker started together):
// one builds into a folder of its own and swaps it in whole while the others wait for it.
//
//   node scripts/build.mjs             build now (npm run build)
//   node scripts/build.mjs --if-stale  build only if src/ changed since the last build (npm install)
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const DIST = path.join(ROOT, 'dist');
const STAMP = path.join(DIST, '.source-fingerprint');
const LOCK = path.join(ROOT, '.build-lock');
/** What the build reads besides src/. */
const INPUTS = ['tsconfig.json', 'tsconfig.build.json', 'package-lock.json'];
const LOCK_WAIT_MS = 10 * 60_000;

function sourceFiles(dir) {
  const files = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const file = path.join(dir, entry.name);
    if (entry.isDirectory()) files.push(...sourceFiles(file));
    else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.spec.ts')) files.push(file);
  }
  return files;
}

/** Names, sizes and modification times of every input: cheap enough to check at each start. */
export function sourceFingerprint(root = ROOT) {
  const hash = createHash('sha256');
  const files = [...sourceFiles(path.join(root, 'src')), ...INPUTS.map((name) => path.join(root, name))];
  for (const file of files.sort()) {
    if (!existsSync(file)) continue;
    const { size, mtimeMs } = statSync(file);
    hash.update(`${path.relative(root, file)}\0${size}\0${mtimeMs}\n`);
  }
  return hash.digest('hex');
}

export function hasSources(root = ROOT) {
  return existsSync(path.join(root, 'src', 'main.ts'));
}

/** True when dist/ was built from the sources as they are now. */
export function isBuildFresh(root = ROOT) {
  try {
    return readFileSync(path.join(root, 'dist', '.source-fingerprint'), 'utf8') === sourceFingerprint(root);
  } catch {
    return false;
  }
}

function processAlive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return error.code === 'EPERM';
  }
}

/** Takes the build lock (a folder: mkdir is atomic), taking over one whose owner has died. */
async function lock() {
  const deadline = Date.now() + LOCK_WAIT_MS;
  for (;;) {
    try {
      mkdirSync(LOCK);
      writeFileSync(path.join(LOCK, 'pid'), String(process.pid));
      return;
    } catch (error) {
      if (error.code !== 'EEXIST') throw error;
    }
    let owner = Number.NaN;
    try {
      owner = Number(readFileSync(path.join(LOCK, 'pid'), 'utf8'));
    } catch {
      // The owner has made the folder and not yet written its pid.
    }
    if (Number.isInteger(owner) && owner > 0 && !processAlive(owner)) {
      rmSync(LOCK, { recursive: true, force: true });
      continue;
    }
    if (Date.now() > deadline) throw new Error(`Another build holds ${LOCK}; remove it if no build runs`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/**
 * An embedded database created and migrated once, at build time, in dist/pglite-template: a first
 * start copies it instead of initialising a database cluster, which takes seconds.
 */
function makeEmbeddedDatabaseTemplate(staging) {
  const dataDir = path.join(staging, '.template-data');
  const client = pathToFileURL(path.join(staging, 'database', 'database-client.js')).href;
  execFileSync(
    process.execPath,
    [
      '--input-type=module',
      '-e',
      `const { DatabaseClient } = await import(${JSON.stringify(client)});
       const database = await DatabaseClient.open({ url: undefined, dataDir: ${JSON.stringify(dataDir)} });
       await database.migrate();
       await database.close();`,
    ],
    { cwd: ROOT, stdio: 'inherit' },
  );
  renameSync(path.join(dataDir, 'pglite'), path.join(staging, 'pglite-template'));
  rmSync(dataDir, { recursive: true, force: true });
}

function compile() {
  const fingerprint = sourceFingerprint();
  const staging = path.join(ROOT, `.dist-${process.pid}`);
  rmSync(staging, { recursive: true, force: true });
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  try {
    execFileSync(process.execPath, [tsc, '-p', path.join(ROOT, 'tsconfig.build.json'), '--outDir', staging], {
      cwd: ROOT,
      stdio: 'inherit',
    });
    makeEmbeddedDatabaseTemplate(staging);
    writeFileSync(path.join(staging, '.source-fingerprint'), fingerprint);
  } catch (error) {
    // A failed build leaves nothing behind: dist/ stays as it was.
    rmSync(staging, { recursive: true, force: true });
    throw error;
  }
  // Swap the whole folder: nobody ever sees half a build.
  const old = path.join(ROOT, `.dist-old-${process.pid}`);
  if (existsSync(DIST)) renameSync(DIST, old);
  renameSync(staging, DIST);
  rmSync(old, { recursive: true, force: true });
}

/**
 * Builds dist/ unless it is fresh (or always, with force). Returns whether it built. Without
 * src/ (a production image holds dist/ alone) there is nothing to build.
 */
export async function ensureBuilt({ force = false, say = (line) => process.stderr.write(`${line}\n`) } = {}) {
  if (!hasSources()) return false;
  if (!force && isBuildFresh()) return false;
  await lock();
  try {
    if (!force && isBuildFresh()) return false; // another process built it while this one waited
    say(existsSync(STAMP) ? 'src/ changed since the last build: building dist/…' : 'Building dist/…');
    const started = Date.now();
    compile();
    say(`Built dist/ in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    return true;
  } finally {
    rmSync(LOCK, { recursive: true, force: true });
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const ifStale = process.argv.includes('--if-stale');
  ensureBuilt({ force: !ifStale }).catch((error) => {
    process.stderr.write(`${error.message}\n`);
    process.exit(1);
  });
}
