import { type messages, type PGlite, protocol } from '@electric-sql/pglite';

/** What a prepared statement does: a write must reach the embedded engine's files when it answers. */
export type StatementEffect = 'read' | 'write';

/** Runs a named statement with these values; answers its rows. */
export type NamedStatementRunner = (
  name: string,
  text: string,
  values: readonly unknown[],
  effect: StatementEffect,
) => Promise<unknown[]>;

/** A statement as the server described it when it parsed it. */
interface Described {
  /** Its parameters' types, which say how each value is written. */
  readonly types: readonly number[];
  /** Its columns: the row's keys, and how each value is read (undefined: kept as text). */
  readonly columns: readonly {
    readonly name: string;
    readonly read: ((text: string) => unknown) | undefined;
  }[];
  /** The start of its Bind message after the length: no portal, its name, text values. */
  readonly bindHead: Buffer;
}

/** After each Bind: run the portal to its end (E), then end the implicit transaction (S). */
const EXECUTE_AND_SYNC = Buffer.from([0x45, 0, 0, 0, 9, 0, 0, 0, 0, 0, 0x53, 0, 0, 0, 4]);
const DATA_ROW = 0x44; // D
const ERROR_RESPONSE = 0x45; // E

function cString(text: string): Buffer {
  return Buffer.from(`${text}\0`, 'utf8');
}

/**
 * Named statements on the embedded database, as PostgreSQL keeps them for a pooled connection:
 * parsed once, then bound and run. `query()` parses and plans its text at every call, which costs
 * the embedded engine about as much again as running a short read. A read leaves the files as they
 * are; a write is synced to them before it answers, as `query()` does. Never from inside a
 * transaction's callback: it waits for the transaction to end.
 *
 * Each run's messages are written here and its answer read here, from the bytes the engine writes:
 * PGlite's general serializer and reader (every message an object, every row through
 * `Object.fromEntries`) took about as long as the engine took to run a member's page statement.
 */
export function embeddedStatements(client: PGlite): NamedStatementRunner {
  const { serialize } = protocol;
  const described = new Map<string, Described>();
  const prepare = async (name: string, text: string): Promise<Described> => {
    const answer = await client.execProtocol(
      Buffer.concat([
        serialize.parse({ name, text, types: [] }),
        serialize.describe({ type: 'S', name }),
        serialize.sync(),
      ]),
      { syncToFs: false },
    );
    const parameters = answer.messages.find(
      (message): message is messages.ParameterDescriptionMessage => message.name === 'parameterDescription',
    );
    const fields = answer.messages.find(
      (message): message is messages.RowDescriptionMessage => message.name === 'rowDescription',
    );
    const types = parameters?.dataTypeIDs ?? [];
    const count = Buffer.alloc(2);
    count.writeUInt16BE(types.length);
    const statement: Described = {
      types,
      columns: (fields?.fields ?? []).map((field) => {
        const parser = client.parsers[field.dataTypeID];
        return {
          name: field.name,
          read: parser && ((value: string): unknown => parser(value, field.dataTypeID) as unknown),
        };
      }),
      // No portal name; the statement's; no format codes (all text); the parameters' count.
      bindHead: Buffer.concat([cString(''), cString(name), Buffer.from([0, 0]), count]),
    };
    described.set(name, statement);
    return statement;
  };
  const bind = (statement: Described, name: string, values: readonly unknown[]): Buffer => {
    const written = values.map((value, index) => {
      if (value === null || value === undefined) return null;
      // 0: the type the server could not tell, written as PGlite writes any value it does not know.
      const serializer = client.serializers[statement.types[index] ?? 0] ?? client.serializers[0];
      if (!serializer) throw new Error(`No way to write parameter $${index + 1} of ${name}`);
      const text = serializer(value) as string | Uint8Array;
      return typeof text === 'string' ? Buffer.from(text, 'utf8') : text;
    });
    // Its length, the head, each value (its length, -1 for null), no result format codes (all text).
    const length =
      4 + statement.bindHead.length + written.reduce((sum, value) => sum + 4 + (value?.length ?? 0), 0) + 2;
    const message = Buffer.allocUnsafe(1 + length + EXECUTE_AND_SYNC.length);
    message[0] = 0x42; // B
    let at = message.writeInt32BE(length, 1);
    at += statement.bindHead.copy(message, at);
    for (const value of written) {
      at = message.writeInt32BE(value ? value.length : -1, at);
      if (value) {
        message.set(value, at);
        at += value.length;
      }
    }
    at = message.writeInt16BE(0, at);
    EXECUTE_AND_SYNC.copy(message, at);
    return message;
  };
  // As query() does: after any transaction open on the one session, then alone on it.
  const exclusive = <T>(run: () => Promise<T>): Promise<T> =>
    client._runExclusiveTransaction(() => client._runExclusiveQuery(run));
  return (name, text, values, effect) =>
    exclusive(async () => {
      const statement = described.get(name) ?? (await prepare(name, text));
      const chunks: Buffer[] = [];
      await client.execProtocolRawStream(bind(statement, name, values), {
        syncToFs: effect === 'write',
        // A view of the engine's memory, written over by its next answer.
        onRawData: (bytes) => void chunks.push(Buffer.from(bytes)),
      });
      return rowsOf(Buffer.concat(chunks), statement);
    });
}

/** The rows of an answer to Bind, Execute, Sync; the server's error, when it answered one. */
function rowsOf(answer: Buffer, statement: Described): Record<string, unknown>[] {
  const rows: Record<string, unknown>[] = [];
  const { columns } = statement;
  for (let at = 0; at < answer.length;) {
    const kind = answer.readUInt8(at);
    const end = at + 1 + answer.readInt32BE(at + 1);
    if (kind === ERROR_RESPONSE) throw databaseError(answer);
    if (kind === DATA_ROW) {
      const row: Record<string, unknown> = {};
      let field = at + 7;
      for (const column of columns) {
        const size = answer.readInt32BE(field);
        field += 4;
        if (size < 0) {
          row[column.name] = null;
          continue;
        }
        const value = answer.toString('utf8', field, field + size);
        row[column.name] = column.read ? column.read(value) : value;
        field += size;
      }
      rows.push(row);
    }
    at = end;
  }
  return rows;
}

/** The server's error as PGlite's own reader makes it, with its code, detail and position. */
function databaseError(answer: Buffer): Error {
  let error: Error | undefined;
  new protocol.Parser().parse(answer, (message) => {
    if (!error && message instanceof Error) error = message;
  });
  return error ?? new Error('The embedded database answered an error that could not be read');
}
