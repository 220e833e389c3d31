import { chmodSync, cpSync, existsSync, mkdirSync, readdirSync, renameSync, rmSync } from 'node:fs';
import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { sql } from 'drizzle-orm';
import { drizzle as drizzleNodePg } from 'drizzle-orm/node-postgres';
import { migrate as migrateNodePg } from 'drizzle-orm/node-postgres/migrator';
import type { PgDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core';
import { drizzle as drizzlePglite } from 'drizzle-orm/pglite';
import { migrate as migratePglite } from 'drizzle-orm/pglite/migrator';
import pg from 'pg';
import { EMBEDDED_DATABASE_TEMPLATE, MIGRATIONS_DIR } from '../config/paths.js';
import * as schema from './schema.js';

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

/** Any key works as long as every Dépêche process uses the same one. */
const MIGRATION_LOCK_KEY = 0x64657065;

/**
 * api and worker processes boot together at scale; the advisory lock makes the second one wait for
 * the first one's migrations instead of racing it through the same DDL.
 */
async function migrateUnderLock(pool: pg.Pool): Promise<void> {
  const connection = await pool.connect();
  try {
    await connection.query('select pg_advisory_lock($1)', [MIGRATION_LOCK_KEY]);
    try {
      await migrateNodePg(drizzleNodePg({ client: connection, schema }), {
        migrationsFolder: MIGRATIONS_DIR,
      });
    } finally {
      await connection.query('select pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY]);
    }
  } finally {
    connection.release();
  }
}

export type Database = PgDatabase<PgQueryResultHKT, typeof schema>;

/** The rows of a raw `db.execute()` result: both drivers answer with `{ rows }`. */
export function rowsOf<Row>(result: unknown): Row[] {
  return (result as { rows: Row[] }).rows;
}

export interface DatabaseOptions {
  /** A postgres:// URL, or undefined for the embedded PGlite database in dataDir. */
  readonly url: string | undefined;
  readonly dataDir: string;
}

/**
 * One connection to the source of truth, whichever engine serves it. Repositories use `db`; nothing
 * else knows which engine is behind it.
 */
export class DatabaseClient {
  private constructor(
    readonly db: Database,
    readonly engine: 'postgres' | 'pglite',
    private readonly migrateFn: () => Promise<void>,
    private readonly closeFn: () => Promise<void>,
  ) {}

  static open(options: DatabaseOptions): DatabaseClient {
    if (options.url !== undefined) {
      const pool = new pg.Pool({ connectionString: options.url, max: 10 });
      // An idle client losing its server must not crash the process; the next query reports it.
      pool.on('error', () => undefined);
      const db = drizzleNodePg({ client: pool, schema });
      return new DatabaseClient(
        db,
        'postgres',
        () => migrateUnderLock(pool),
        () => pool.end(),
      );
    }
    const dir = path.join(options.dataDir, 'pglite');
    createFromTemplate(dir);
    const client = new PGlite(dir);
    const db = drizzlePglite({ client, schema });
    return new DatabaseClient(
      db,
      'pglite',
      () => migratePglite(db, { migrationsFolder: MIGRATIONS_DIR }),
      () => client.close(),
    );
  }

  /** Applies the committed migrations; the same files serve PostgreSQL and PGlite. */
  migrate(): Promise<void> {
    return this.migrateFn();
  }

  async ping(): Promise<void> {
    await this.db.execute(sql`select 1`);
  }

  close(): Promise<void> {
    return this.closeFn();
  }
}
