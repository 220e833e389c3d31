import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The folder holding package.json, found from this file so that it works from src/ and dist/ alike. */
function findPackageRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  while (!existsSync(path.join(dir, 'package.json'))) {
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error('package.json not found above ' + fileURLToPath(import.meta.url));
    dir = parent;
  }
  return dir;
}

export const PACKAGE_ROOT = findPackageRoot();
export const TEMPLATES_DIR = path.join(PACKAGE_ROOT, 'templates');
export const MIGRATIONS_DIR = path.join(PACKAGE_ROOT, 'src', 'database', 'migrations');
/** The embedded database the build made, migrated, for a first start to copy (scripts/build.mjs). */
export const EMBEDDED_DATABASE_TEMPLATE = path.join(PACKAGE_ROOT, 'dist', 'pglite-template');
