import { sql } from 'drizzle-orm';
import { drizzle as drizzleNodePg } from 'drizzle-orm/node-postgres';
import { migrate as migrateNodePg } from 'drizzle-orm/node-postgres/migrator';
import type { PgDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core';
import { drizzle as drizzlePglite } from 'drizzle-orm/pglite';
import { migrate as migratePglite } from 'drizzle-orm/pglite/migrator';
import pg from 'pg';
import { MIGRATIONS_DIR } from '../config/paths.js';
import { openEmbeddedDatabase } from './embedded-database.js';
import * as schema from './schema.js';

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

  static async open(options: DatabaseOptions): Promise<DatabaseClient> {
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
    const client = await openEmbeddedDatabase(options.dataDir);
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
