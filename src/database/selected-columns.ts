import { getTableColumns, getTableName, type Table } from 'drizzle-orm';

/** A table's columns in a hand-written statement, and the way back from its result to typed rows. */
export interface SelectedColumns<Row> {
  /** `alias.column as "alias.key"`, for each column: two tables' rows share one result row. */
  readonly list: string;
  /** The table as the statement names it: `articles a`. */
  readonly from: string;
  /** The table's row in a result row; undefined when an outer join found none. */
  read(row: Readonly<Record<string, unknown>>): Row | undefined;
}

/**
 * The columns of a table for a statement written by hand (see DatabaseClient.prepared), read back
 * as the ORM reads them: the same keys, dates as Dates, arrays as arrays. The table needs an `id`.
 * `keys`, when given, are the only columns read: every column a row brings costs its parsing at
 * each call (a hot page reads only what it shows).
 */
export function selectedColumns<T extends Table, Key extends keyof T['$inferSelect'] & string>(
  table: T,
  alias: string,
  keys?: readonly Key[],
): SelectedColumns<Pick<T['$inferSelect'], Key>> {
  // Each column's key, its name in the result and its mapper, worked out once for every row read.
  const columns = Object.entries(getTableColumns(table))
    .filter(([key]) => keys === undefined || (keys as readonly string[]).includes(key))
    .map(([key, column]) => ({ key, field: `${alias}.${key}`, column }));
  const idField = `${alias}.id`;
  if (!columns.some(({ field }) => field === idField))
    throw new Error(`A statement reading ${getTableName(table)} must read its id`);
  return {
    list: columns.map(({ column, field }) => `${alias}.${column.name} as "${field}"`).join(', '),
    from: `${getTableName(table)} ${alias}`,
    read(row) {
      if (row[idField] === null || row[idField] === undefined) return undefined;
      const read: Record<string, unknown> = {};
      for (const { key, field, column } of columns) {
        const value = row[field];
        read[key] = value === null ? null : column.mapFromDriverValue(value);
      }
      return read as Pick<T['$inferSelect'], Key>;
    },
  };
}
