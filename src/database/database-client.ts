import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { type SQL, sql } from 'drizzle-orm';
import { drizzle as drizzleNodePg } from 'drizzle-orm/node-postgres';
import { migrate as migrateNodePg } from 'drizzle-orm/node-postgres/migrator';
import { type PgDatabase, PgDialect, type PgQueryResultHKT } from 'drizzle-orm/pg-core';
import { drizzle as drizzlePglite } from 'drizzle-orm/pglite';
import { migrate as migratePglite } from 'drizzle-orm/pglite/migrator';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { MIGRATIONS_DIR } from '../config/paths.js';
import { openEmbeddedDatabase } from './embedded-database.js';
import {
  embeddedStatements,
  type NamedStatementRunner,
  type StatementEffect,
} from './embedded-statements.js';
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

/**
 * A temporary table for one transaction's rows: its name and its columns as CREATE TABLE writes
 * them. Both are the code's own text, never input.
 */
export interface StagingTable {
  readonly name: string;
  readonly columns: string;
}

/** The four characters COPY's text format escapes, and how. */
const COPY_ESCAPES: Readonly<Record<string, string>> = {
  '\\': '\\\\',
  '\t': '\\t',
  '\n': '\\n',
  '\r': '\\r',
};
const COPY_ESCAPED = /[\\\t\n\r]/;

/** One field as COPY's text format writes it: `\N` for null. */
function copyField(value: string | null): string {
  if (value === null) return '\\N';
  // Testing first spares the common field, which has none of them, a copy.
  return COPY_ESCAPED.test(value) ? value.replace(/[\\\t\n\r]/g, (c) => COPY_ESCAPES[c] ?? c) : value;
}

/** Rows in COPY's text format: a line each, fields between tabs. */
export function copyText(rows: readonly (readonly (string | null)[])[]): string {
  let text = '';
  for (const row of rows) {
    for (let field = 0; field < row.length; field += 1)
      text += field === 0 ? copyField(row[field] ?? null) : `\t${copyField(row[field] ?? null)}`;
    text += '\n';
  }
  return text;
}

type StagedFn = (staging: StagingTable, text: string, statement: SQL) => Promise<unknown[]>;

const dialect = new PgDialect();

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
    private readonly queryFn: NamedStatementRunner,
    private readonly migrateFn: () => Promise<void>,
    private readonly closeFn: () => Promise<void>,
    private readonly stagedFn: StagedFn,
  ) {}

  /**
   * Many rows in, in one transaction: `text` (see copyText) is copied into a temporary table made
   * for it, then `statement` runs over that table and its rows are the answer. COPY is the
   * cheapest way in for rows on either engine: no statement text or JSON for the server to parse
   * per row. The table is dropped at commit, so every call has its own.
   */
  async staged<Row>(staging: StagingTable, text: string, statement: SQL): Promise<Row[]> {
    return (await this.stagedFn(staging, text, statement)) as Row[];
  }

  /**
   * A hand-written statement for a hot path, where building the SQL at each call shows: PostgreSQL
   * parses and plans it once per connection of the pool (a named statement); the embedded engine
   * keeps it too (see embeddedStatements). `name` must be unique to this text. Outside any
   * transaction: a write is a transaction of its own.
   */
  prepared<Row>(name: string, text: string, effect: StatementEffect = 'read'): PreparedStatement<Row> {
    return (values) => this.queryFn(name, text, values, effect) as Promise<Row[]>;
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
        async (staging, text, statement) => {
          const connection = await pool.connect();
          let broken = false;
          try {
            await connection.query('begin');
            try {
              await connection.query(`create temp table ${staging.name} (${staging.columns}) on commit drop`);
              await pipeline(
                Readable.from([text]),
                connection.query(copyFrom(`copy ${staging.name} from stdin`)),
              );
              const query = dialect.sqlToQuery(statement);
              const result = await connection.query<object>(query.sql, query.params);
              await connection.query('commit');
              return result.rows;
            } catch (error) {
              await connection.query('rollback').catch(() => (broken = true));
              throw error;
            }
          } finally {
            // A connection whose rollback failed is in no state to serve again.
            connection.release(broken);
          }
        },
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
      (staging, text, statement) =>
        client.transaction(async (tx) => {
          await tx.exec(`create temp table ${staging.name} (${staging.columns}) on commit drop`);
          // PGlite has no COPY protocol: it reads a COPY's input from the blob it is given.
          await tx.query(`copy ${staging.name} from '/dev/blob'`, [], { blob: new Blob([text]) });
          const query = dialect.sqlToQuery(statement);
          return (await tx.query<object>(query.sql, query.params)).rows;
        }),
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
