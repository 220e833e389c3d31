import pg from 'pg';
import { createPostgresDatabase } from '../../test/helpers/test-database.js';
import { BENCH_TOKEN, median, startService } from './service.js';

export interface ImportResult {
  readonly rows: number;
  readonly runs: number;
  readonly service_seconds_median: number;
  readonly service_rows_per_second: number;
  readonly raw_seconds_median: number;
  readonly raw_rows_per_second: number;
  readonly service_over_raw: number;
}

function csvRows(rows: number): string[] {
  return Array.from(
    { length: rows },
    (_, n) => `lecteur${n}@exemple.fr,Lecteur ${n},${n % 2 ? 'free' : 'premium'}`,
  );
}

async function serviceRun(csv: string, rows: number): Promise<number> {
  const database = await createPostgresDatabase();
  const service = await startService({ DATABASE_URL: database.url });
  try {
    const started = performance.now();
    const res = await fetch(`${service.url}/api/subscribers/import`, {
      method: 'POST',
      headers: { authorization: `Bearer ${BENCH_TOKEN}`, 'content-type': 'text/csv' },
      body: csv,
    });
    const report = (await res.json()) as { imported: number };
    const seconds = (performance.now() - started) / 1000;
    if (report.imported !== rows)
      throw new Error(`Imported ${report.imported} of ${rows}: ${JSON.stringify(report)}`);
    return seconds;
  } finally {
    await service.stop();
    await database.drop();
  }
}

async function rawRun(lines: readonly string[]): Promise<number> {
  const database = await createPostgresDatabase();
  // The service's own migrations make the table; the raw run only inserts.
  const service = await startService({ DATABASE_URL: database.url });
  await service.stop();
  const client = new pg.Client({ connectionString: database.url });
  await client.connect();
  try {
    const started = performance.now();
    for (let offset = 0; offset < lines.length; offset += 1000) {
      const batch = lines.slice(offset, offset + 1000).map((line) => line.split(','));
      const values = batch.map(
        (_, i) => `($${i * 3 + 1}, $${i * 3 + 2}, $${i * 3 + 3}, 'active', 'import', 'import')`,
      );
      await client.query(
        `insert into subscribers (email, name, tier, status, consent_source, consent_wording) values ${values.join(',')}`,
        batch.flat(),
      );
    }
    return (performance.now() - started) / 1000;
  } finally {
    await client.end();
    await database.drop();
  }
}

/**
 * CSV import of `rows` subscribers into PostgreSQL through the API, against a raw baseline: the
 * same rows inserted by `pg` directly, 1,000 per multi-row INSERT, with no parsing or validation.
 * Each run uses a fresh database.
 */
export async function importBench(rows: number, runs: number): Promise<ImportResult> {
  const lines = csvRows(rows);
  const csv = `email,name,tier\n${lines.join('\n')}\n`;
  const service: number[] = [];
  const raw: number[] = [];
  for (let run = 0; run < runs; run += 1) {
    service.push(await serviceRun(csv, rows));
    raw.push(await rawRun(lines));
  }
  return {
    rows,
    runs,
    service_seconds_median: Number(median(service).toFixed(3)),
    service_rows_per_second: Math.round(rows / median(service)),
    raw_seconds_median: Number(median(raw).toFixed(3)),
    raw_rows_per_second: Math.round(rows / median(raw)),
    service_over_raw: Number((median(raw) / median(service)).toFixed(3)),
  };
}
