import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import { Inject, Injectable } from '@nestjs/common';
import { type CsvError, parse } from 'csv-parse';
import { SUBSCRIBER_TIERS, type SubscriberTier } from '../database/schema.js';
import { InvalidInputException } from '../http/api-error.js';
import { normaliseEmail } from '../lib/email-address.js';
import { type ImportRow, SubscribersRepository } from './subscribers.repository.js';

export const IMPORT_COLUMNS = ['email', 'name', 'tier'] as const;
type ImportColumn = (typeof IMPORT_COLUMNS)[number];

export interface ImportReport {
  imported: number;
  updated: number;
  skipped: number;
  errors: ImportError[];
}

/** A line the import refused: its number, why in English, and why as a code for the desk to word. */
export interface ImportError {
  readonly line: number;
  readonly reason: string;
  readonly code: 'malformed' | 'column-count' | 'email' | 'one-line' | 'name' | 'tier';
  /** The number the code names (the columns expected). */
  readonly limit?: number;
}

type RowProblem = Omit<ImportError, 'line'>;

/** Rows written per statement: 5,000 measured 15 % faster than 1,000 (bench/csv-import.ts), memory stays flat. */
const BATCH_SIZE = 5000;
/** The report lists this many errors at most; the rest are counted in `skipped`. */
const MAX_REPORTED_ERRORS = 1000;
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;

function newlines(record: readonly string[]): number {
  return record.reduce((n, field) => n + (field.match(/\r\n|\r|\n/g)?.length ?? 0), 0);
}

/**
 * Reads a CSV of subscribers as a stream (header row with email, and optionally name and tier) and
 * writes it in batches. A bad line is reported with its number and never stops the good ones;
 * suppressed addresses and repeats of an address already in the file are skipped.
 */
@Injectable()
export class SubscriberImporter {
  constructor(@Inject(SubscribersRepository) private readonly repository: SubscribersRepository) {}

  async import(source: Readable): Promise<ImportReport> {
    const report: ImportReport = { imported: 0, updated: 0, skipped: 0, errors: [] };
    const fail = (line: number, problem: RowProblem): void => {
      if (report.errors.length < MAX_REPORTED_ERRORS) report.errors.push({ line, ...problem });
      else report.skipped += 1;
    };
    const parser = source.pipe(
      parse({
        info: true,
        bom: true,
        skip_empty_lines: true,
        relax_column_count: true,
        skip_records_with_error: true,
      }),
    );
    parser.on('skip', (error: CsvError) => {
      fail(Number(error.lines), {
        reason: `malformed CSV: ${error.message.replace(/ at line \d+.*$/, '')}`,
        code: 'malformed',
      });
    });

    let columns: ImportColumn[] | undefined;
    /** Short digests of the addresses seen, to skip repeats without keeping the addresses. */
    const seen = new Set<string>();
    let batch: ImportRow[] = [];
    const flush = async (): Promise<void> => {
      const rows = batch;
      batch = [];
      const suppressed = await this.repository.suppressedAmong(rows.map((row) => row.email));
      const allowed = rows.filter((row) => !suppressed.has(row.email.toLowerCase()));
      report.skipped += rows.length - allowed.length;
      const written = await this.repository.upsertImported(allowed);
      report.imported += written.inserted;
      report.updated += written.updated;
    };

    for await (const { record, info } of parser as AsyncIterable<{
      record: string[];
      info: { lines: number };
    }>) {
      const line = info.lines - newlines(record);
      if (columns === undefined) {
        columns = this.readHeader(record);
        continue;
      }
      if (record.length !== columns.length) {
        fail(line, {
          reason: `expected ${columns.length} columns (${columns.join(', ')}), found ${record.length}`,
          code: 'column-count',
          limit: columns.length,
        });
        continue;
      }
      const row = this.readRow(columns, record, line);
      if ('reason' in row) {
        fail(line, row);
        continue;
      }
      const digest = createHash('sha256').update(row.email.toLowerCase()).digest('base64').slice(0, 16);
      if (seen.has(digest)) {
        report.skipped += 1;
        continue;
      }
      seen.add(digest);
      batch.push(row);
      if (batch.length >= BATCH_SIZE) await flush();
    }
    if (columns === undefined)
      throw InvalidInputException.field('file', 'is empty: expected a header row with email', 'empty-file');
    await flush();
    report.errors.sort((a, b) => a.line - b.line);
    return report;
  }

  /** The header decides the columns; an unknown or missing one refuses the whole file before any write. */
  private readHeader(record: readonly string[]): ImportColumn[] {
    const names = record.map((name) => name.trim().toLowerCase());
    const unknown = names.filter((name) => !(IMPORT_COLUMNS as readonly string[]).includes(name));
    if (unknown.length > 0) {
      throw InvalidInputException.field(
        'header',
        `unknown column ${unknown.map((n) => `"${n}"`).join(', ')}; expected ${IMPORT_COLUMNS.join(', ')}`,
        'unknown-column',
        unknown.join(', '),
      );
    }
    if (!names.includes('email'))
      throw InvalidInputException.field('header', 'the email column is missing', 'email-column');
    if (new Set(names).size !== names.length)
      throw InvalidInputException.field('header', 'a column appears twice', 'column-twice');
    return names as ImportColumn[];
  }

  /** A valid row, or the reason it is not. */
  private readRow(
    columns: readonly ImportColumn[],
    record: readonly string[],
    line: number,
  ): ImportRow | RowProblem {
    const field = (column: ImportColumn): string => record[columns.indexOf(column)] ?? '';
    const address = normaliseEmail(field('email'));
    if (!address.ok)
      return { reason: `email ${address.reason}`, code: address.code === 'email' ? 'email' : 'one-line' };
    const name = field('name').trim();
    if (CONTROL.test(name))
      return { reason: 'name must be one line without control characters', code: 'one-line' };
    if (name.length > 100) return { reason: 'name must be at most 100 characters', code: 'name' };
    const tier = field('tier').trim().toLowerCase() || 'free';
    if (!(SUBSCRIBER_TIERS as readonly string[]).includes(tier)) {
      return { reason: `tier must be ${SUBSCRIBER_TIERS.join(' or ')}, got "${tier}"`, code: 'tier' };
    }
    return { line, email: address.email, name, tier: tier as SubscriberTier };
  }
}
