import type { Readable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';

/** A record of the file and the line it starts on, or a line that could not be read as CSV. */
export type CsvItem =
  | { readonly kind: 'record'; readonly fields: string[]; readonly line: number }
  | { readonly kind: 'malformed'; readonly line: number; readonly reason: string };

/** A field longer than this is no subscriber's: most likely a quote left open that swallows lines. */
export const MAX_FIELD_CHARS = 4096;

const QUOTE = 0x22;
const COMMA = 0x2c;
const CR = 0x0d;
const LF = 0x0a;

const enum State {
  /** At the start of a field. */
  FieldStart,
  Unquoted,
  Quoted,
  /** Just after a quote inside a quoted field: its end, or the first of two that stand for one. */
  QuoteInQuoted,
  /** In a record found malformed: what is left of it up to the end of its line is skipped. */
  Skipping,
}

/**
 * Comma-separated values as RFC 4180 writes them, read as they come: fields quoted or not, `""` for
 * a quote inside a quoted field, line breaks inside quoted fields, records ended by CRLF, LF or CR,
 * a UTF-8 byte order mark dropped. Each record comes with the line it starts on, counted here as
 * the text goes by, so that a report names the very line. A record that cannot be read (a quote
 * inside an unquoted field, text after a closing quote, a quote never closed, a field longer than
 * MAX_FIELD_CHARS) is given as malformed with its line, and reading goes on at the next line: one
 * bad line never takes the good ones after it. Empty lines are no records.
 */
export class CsvReader {
  private state = State.FieldStart;
  private fields: string[] = [];
  private field = '';
  /** The line being read, and the line the record being read started on. */
  private line = 1;
  private recordLine = 1;
  /** The last character was a CR: an LF right after it is the same line break. */
  private afterCr = false;
  private started = false;
  private malformed = '';

  /** The records and malformed lines this text completes. */
  read(text: string): CsvItem[] {
    const items: CsvItem[] = [];
    let at = 0;
    if (!this.started) {
      this.started = true;
      if (text.charCodeAt(0) === 0xfeff) at = 1;
    }
    // Where the current field's text began in this chunk (-1: not in a run of plain characters).
    let run = this.state === State.Unquoted || this.state === State.Quoted ? at : -1;
    for (; at < text.length; at += 1) {
      const code = text.charCodeAt(at);
      if (code === LF && this.afterCr) {
        // The LF of a CRLF: the break was counted at the CR. Inside quotes the field keeps both.
        this.afterCr = false;
        continue;
      }
      this.afterCr = code === CR;
      const lineBreak = code === LF || code === CR;
      switch (this.state) {
        case State.FieldStart:
          if (code === QUOTE) {
            this.state = State.Quoted;
            run = at + 1;
          } else if (code === COMMA) this.fields.push('');
          else if (lineBreak) {
            // After a comma, the record's last field is empty; alone on its line, nothing.
            if (this.fields.length > 0) this.fields.push('');
            this.endRecord(items);
          } else {
            this.state = State.Unquoted;
            run = at;
          }
          break;
        case State.Unquoted:
          if (code === COMMA || lineBreak) {
            this.field += text.slice(run, at);
            run = -1;
            this.endField(items, lineBreak);
          } else if (code === QUOTE) {
            run = -1;
            this.skip('a quote inside a field that does not start with one');
          }
          break;
        case State.Quoted:
          if (code === QUOTE) {
            this.field += text.slice(run, at);
            run = -1;
            this.state = State.QuoteInQuoted;
          } else if (lineBreak) this.line += 1;
          break;
        case State.QuoteInQuoted:
          if (code === QUOTE) {
            this.field += '"';
            this.state = State.Quoted;
            run = at + 1;
          } else if (code === COMMA || lineBreak) this.endField(items, lineBreak);
          else this.skip('text after the closing quote of a field');
          break;
        case State.Skipping:
          if (lineBreak) this.endRecord(items);
          break;
      }
      if (run >= 0 && this.field.length + (at + 1 - run) > MAX_FIELD_CHARS) {
        // Reading goes on after the next line break, whether the field was quoted or not.
        run = -1;
        this.skip(`a field longer than ${MAX_FIELD_CHARS} characters, or a quote never closed`);
      }
    }
    if (run >= 0) this.field += text.slice(run);
    return items;
  }

  /** What is left once the text has ended. */
  end(): CsvItem[] {
    const items: CsvItem[] = [];
    if (this.state === State.Quoted) this.skip('a quote never closed');
    else if (this.state !== State.Skipping && (this.state !== State.FieldStart || this.fields.length > 0))
      this.fields.push(this.field);
    this.endRecord(items);
    return items;
  }

  /** Ends the field being read at a comma, or the record with it at a line break. */
  private endField(items: CsvItem[], lineBreak: boolean): void {
    this.fields.push(this.field);
    this.field = '';
    this.state = State.FieldStart;
    if (lineBreak) this.endRecord(items);
  }

  private skip(reason: string): void {
    this.state = State.Skipping;
    this.malformed = reason;
    this.fields = [];
    this.field = '';
  }

  /** Ends the record being read at a line break, and counts it. */
  private endRecord(items: CsvItem[]): void {
    if (this.state === State.Skipping) {
      items.push({ kind: 'malformed', line: this.recordLine, reason: this.malformed });
    } else if (this.fields.length > 0) {
      items.push({ kind: 'record', fields: this.fields, line: this.recordLine });
    }
    this.fields = [];
    this.field = '';
    this.state = State.FieldStart;
    this.line += 1;
    this.recordLine = this.line;
  }
}

/** A stream of UTF-8 CSV, read in runs of items: one wait per chunk of the stream, not per record. */
export async function* csvItems(source: Readable): AsyncGenerator<CsvItem[]> {
  const decoder = new StringDecoder('utf8');
  const reader = new CsvReader();
  for await (const chunk of source as AsyncIterable<Buffer | string>) {
    const items = reader.read(typeof chunk === 'string' ? chunk : decoder.write(chunk));
    if (items.length > 0) yield items;
  }
  const items = [...reader.read(decoder.end()), ...reader.end()];
  if (items.length > 0) yield items;
}
