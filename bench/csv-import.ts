/**
 * The CSV import benchmark alone (also part of `npm run bench`). Usage: tsx bench/csv-import.ts [rows] [runs]
 */
import { ensureBuilt } from '../scripts/build.mjs';
import { importBench } from './lib/import-bench.js';

await ensureBuilt();

const result = await importBench(Number(process.argv[2] ?? 100_000), Number(process.argv[3] ?? 3));
process.stdout.write(
  [
    `CSV import of ${result.rows} rows into PostgreSQL, median of ${result.runs} runs`,
    `  service (HTTP, streamed parse, validation, upsert): ${result.service_seconds_median} s, ${result.service_rows_per_second} rows/s`,
    `  raw (pg multi-row INSERT, no checks):             ${result.raw_seconds_median} s, ${result.raw_rows_per_second} rows/s`,
    `  service/raw throughput: ${result.service_over_raw}`,
    JSON.stringify({ bench: 'csv-import', ...result }),
    '',
  ].join('\n'),
);
