import { sql } from 'drizzle-orm';
import { drizzle as drizzleNodePg } from 'drizzle-orm/node-postgres';
import { migrate as migrateNodePg } from 'drizzle-orm/node-postgres/migrator';
import type { PgDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core';
import { drizzle as drizzlePglite } from 'drizzle-orm/pglite';
import { migrate as migratePglite } from 'drizzle-orm/pglite/migrator';
import pg from 'pg';
import { MIGRATIONS_DIR } from '../config/paths.js';
import { openEmbeddedDatabase } from './embedded-database.js';
import { embeddedStatements } from './embedded-statements.js';
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

/** A hand-written statement bound to its parameters ($1, $2…), answering its rows. */
export type PreparedStatement<Row> = (values: readonly unknown[]) => Promise<Row[]>;

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
    private readonly queryFn: (name: string, text: string, values: readonly unknown[]) => Promise<unknown[]>,
    private readonly migrateFn: () => Promise<void>,
    private readonly closeFn: () => Promise<void>,
  ) {}

  /**
   * A hand-written statement for a hot path, where building the SQL at each call shows: PostgreSQL
   * parses and plans it once per connection of the pool (a named statement); the embedded engine
   * keeps it too (see embeddedStatements). `name` must be unique to this text. For reads outside
   * any transaction.
   */
  prepared<Row>(name: string, text: string): PreparedStatement<Row> {
    return (values) => this.queryFn(name, text, values) as Promise<Row[]>;
  }

  static async open(options: DatabaseOptions): Promise<DatabaseClient> {
    if (options.url !== undefined) {
      const pool = new pg.Pool({ connectionString: options.url, max: 10 });
      // An idle client losing its server must not crash the process; the next query reports it.
      pool.on('error', () => undefined);
      const db = drizzleNodePg({ client: pool, schema });
      return new DatabaseClient(
        db,
        'postgres',
        async (name, text, values) => (await pool.query<object>({ name, text, values: [...values] })).rows,
        () => migrateUnderLock(pool),
        () => pool.end(),
      );
    }
    const client = await openEmbeddedDatabase(options.dataDir);
    const db = drizzlePglite({ client, schema });
    return new DatabaseClient(
      db,
      'pglite',
      embeddedStatements(client),
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
