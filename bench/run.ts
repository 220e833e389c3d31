/**
 * `npm run bench`: an edition to N subscribers end to end against naive nodemailer and the raw
 * limit of this machine, the CSV import against raw INSERTs, and the article page against a bare
 * http server, all in one run. Prints a table for people and, last, one JSON line for machines.
 *
 * Options: --subscribers N (100000)  --runs R (3)  --workers W (2)  --sessions S (10)
 *          --page-seconds T (10)  --quick (N=2000, one run, short page load: what CI runs)
 *          --service-only (no baselines, no import, no page: for memory at large N)
 *          --page-only (the article page alone, R runs: for the page figures)
 *          --inbound-only (bounces into the inbound mail listener alone, R runs)
 *          --send-only (the edition against its naive and raw baselines alone, R runs)
 *          --boot-only (npm start to a healthy /health alone, max(3, R) runs)
 *          --cpu-prof DIR (workers write V8 CPU profiles there, for node --cpu-prof analysis)
 *          --skip-naive (no nodemailer baseline: it takes minutes at large N; the raw one stays)
 *          --node-tools (the smtp-server sink and the raw-socket blaster even where Postfix is installed)
 *          --set NAME=VALUE (a setting for the worker processes, such as SMTP_MAX_CONNECTIONS=10; repeatable)
 *          --relay-rtt-ms MS (the service's sink behind a proxy that delays every byte by this round
 *          trip: a distant relay, where a session's round trips bound the send)
 */
import { cpus, totalmem } from 'node:os';
import { parseArgs } from 'node:util';
import { naiveBench, rawBench, seedEdition, serviceBench, type ServiceResult } from './lib/delivery-bench.js';
import { ensureBuilt } from '../scripts/build.mjs';
import { bootBench } from './lib/boot-bench.js';
import { importBench } from './lib/import-bench.js';
import { inboundBench } from './lib/inbound-bench.js';
import { embeddedPageBench, type EmbeddedPageResult, type PageLoad, pageBench } from './lib/page-bench.js';
import { flushedRedisBench, killedWorkerBench, type RecoveryResult } from './lib/recovery-bench.js';
import { median } from './lib/service.js';
import { useNodeTools } from './lib/sink.js';

const { values: options } = parseArgs({
  options: {
    subscribers: { type: 'string' },
    runs: { type: 'string' },
    workers: { type: 'string', default: '2' },
    sessions: { type: 'string', default: '10' },
    'page-seconds': { type: 'string' },
    quick: { type: 'boolean', default: false },
    'service-only': { type: 'boolean', default: false },
    'page-only': { type: 'boolean', default: false },
    'inbound-only': { type: 'boolean', default: false },
    'send-only': { type: 'boolean', default: false },
    'boot-only': { type: 'boolean', default: false },
    'cpu-prof': { type: 'string' },
    set: { type: 'string', multiple: true, default: [] },
    'node-tools': { type: 'boolean', default: false },
    'skip-naive': { type: 'boolean', default: false },
    'relay-rtt-ms': { type: 'string', default: '0' },
  },
});
const quick = options.quick;
const n = Number(options.subscribers ?? (quick ? 2000 : 100_000));
const runs = Number(options.runs ?? (quick ? 1 : 3));
const workers = Number(options.workers);
const sessions = Number(options.sessions);
const relayRoundTripMs = Number(options['relay-rtt-ms']);
const pageSeconds = Number(options['page-seconds'] ?? (quick ? 2 : 10));
const serviceOnly = options['service-only'];
const pageOnly = options['page-only'];
const inboundOnly = options['inbound-only'];
const sendOnly = options['send-only'];
const bootOnly = options['boot-only'];
// Everything after the edition and its baselines: off when one part is asked for alone.
const everything = !serviceOnly && !pageOnly && !inboundOnly && !sendOnly && !bootOnly;
if (options['node-tools']) useNodeTools();
const workerSettings = Object.fromEntries(
  options.set.map((pair) => {
    const at = pair.indexOf('=');
    if (at < 1) throw new Error(`--set expects NAME=VALUE, got "${pair}"`);
    return [pair.slice(0, at), pair.slice(at + 1)];
  }),
);

const log = (line: string): void => {
  process.stderr.write(`${line}\n`);
};

// Every process below runs dist/: built once here if the sources changed since the last build.
await ensureBuilt();

const service: ServiceResult[] = [];
const naive: number[] = [];
const raw: number[] = [];
let rawTool = '';
for (let run = 1; run <= (pageOnly || inboundOnly || bootOnly ? 0 : runs); run += 1) {
  log(`run ${run}/${runs}: seeding ${n} subscribers and an edition`);
  const seeded = await seedEdition(n);
  try {
    log(`run ${run}/${runs}: the service, ${workers} worker process(es)`);
    service.push(
      await serviceBench(seeded, n, workers, workerSettings, options['cpu-prof'], relayRoundTripMs),
    );
    if (!serviceOnly) {
      if (!options['skip-naive']) {
        log(`run ${run}/${runs}: naive nodemailer`);
        naive.push((await naiveBench(seeded.content, n, sessions)).messages_per_second);
      }
      log(`run ${run}/${runs}: raw`);
      const rawRun = await rawBench(seeded.content, n, sessions);
      raw.push(rawRun.messages_per_second);
      rawTool = rawRun.tool;
    }
  } finally {
    await seeded.close();
  }
}

const pick = <T>(f: (r: ServiceResult) => T): T[] => service.map(f);
const serviceRate = median(pick((r) => r.messages_per_second));
const last = service.at(-1);
const delivery = last && {
  recipients: n,
  runs,
  workers,
  sessions,
  sink: last.sink,
  message_bytes: last.message_bytes,
  service_messages_per_second: serviceRate,
  service_seconds: median(pick((r) => r.seconds)),
  first_message_seconds: median(pick((r) => r.first_message_seconds)),
  prepare_seconds: median(pick((r) => r.prepare_seconds)),
  exactly_n_every_run: service.every((r) => r.exactly_n),
  peak_rss_mb: {
    api: Math.max(...pick((r) => r.peak_rss_mb.api)),
    worker: Math.max(...service.flatMap((r) => r.peak_rss_mb.workers)),
  },
  redis_used_memory_mb: last.redis_used_memory_mb,
  cpu_seconds_per_1000: {
    workers: median(pick((r) => r.cpu_seconds_per_1000.workers)),
    postgres: median(pick((r) => r.cpu_seconds_per_1000.postgres)),
    redis: median(pick((r) => r.cpu_seconds_per_1000.redis)),
  },
  ...(serviceOnly
    ? {}
    : {
        ...(naive.length > 0
          ? {
              naive_messages_per_second: median(naive),
              service_over_naive: Number((serviceRate / median(naive)).toFixed(2)),
            }
          : {}),
        raw_messages_per_second: median(raw),
        raw_tool: rawTool,
        service_over_raw: Number((serviceRate / median(raw)).toFixed(2)),
      }),
};

let boot: Awaited<ReturnType<typeof bootBench>> | undefined;
if (everything || bootOnly) {
  log('boot to a healthy /health, as npm start runs it');
  boot = await bootBench(Math.max(3, runs));
}

let csvImport: Awaited<ReturnType<typeof importBench>> | undefined;
let page: Awaited<ReturnType<typeof pageBench>> | undefined;
let embeddedPage: EmbeddedPageResult | undefined;
let inbound: Awaited<ReturnType<typeof inboundBench>> | undefined;
const recovery: { killed_worker?: RecoveryResult; flushed_redis?: RecoveryResult } = {};
if (everything) {
  for (const [name, bench] of [
    ['killed_worker', killedWorkerBench],
    ['flushed_redis', flushedRedisBench],
  ] as const) {
    log(`recovery: ${name.replace('_', ' ')} at a quarter of an edition to ${n}`);
    const seeded = await seedEdition(n);
    try {
      recovery[name] = await bench(seeded, n);
    } finally {
      await seeded.close();
    }
  }
  log(`CSV import of ${n} rows`);
  csvImport = await importBench(n, runs);
}
if (everything || inboundOnly) {
  const bounces = quick ? 200 : 5000;
  log(`${bounces} bounces into the inbound mail listener`);
  inbound = await inboundBench(bounces, runs);
}
if (everything || pageOnly) {
  log('article page under load');
  const seeded = await seedEdition(10);
  try {
    page = await pageBench(
      seeded.env,
      seeded.articleSlug,
      seeded.editionId,
      seeded.premiumEmail,
      pageSeconds,
      runs,
      options['cpu-prof'],
    );
  } finally {
    await seeded.close();
  }
  log('article page on the embedded PGlite database');
  embeddedPage = await embeddedPageBench(pageSeconds, runs);
}

/** One page's figures against its bare server, on one line. */
const loadLine = (who: string, load: PageLoad): string =>
  `  ${who}, ${load.page_bytes} B: service ${load.service.requests_per_second} req/s, p99 ${load.service.p99_ms} ms; bare ${load.bare.requests_per_second} req/s, p99 ${load.bare.p99_ms} ms; service/bare ${load.service_over_bare}` +
  (load.io_floor
    ? `\n    I/O floor (its session read and query alone, no framework, no rendering): ${load.io_floor.requests_per_second} req/s; floor/bare ${load.io_floor_over_bare}, service/floor ${load.service_over_io_floor}`
    : '');

const machine = `${cpus().length} × ${cpus()[0]?.model.trim() ?? 'CPU'}, ${Math.round(totalmem() / 2 ** 30)} GB, Node ${process.version}`;
const lines = [`Dépêche benchmark — ${new Date().toISOString().slice(0, 10)} — ${machine}`];
if (delivery) {
  lines.push(
    `Edition to ${n} subscribers (half free, half premium), ${workers} worker process(es), medians of ${runs} run(s), sink: ${delivery.sink}${relayRoundTripMs > 0 ? `, behind a ${relayRoundTripMs} ms round trip` : ''}`,
    `  message size (HTML + text): free ${delivery.message_bytes.free} B, premium ${delivery.message_bytes.premium} B`,
    `  service end to end:      ${delivery.service_messages_per_second} msg/s (${delivery.service_seconds} s from the scheduled time to the last message)`,
  );
  if (!serviceOnly) {
    if (delivery.naive_messages_per_second !== undefined)
      lines.push(
        `  naive nodemailer pool:   ${delivery.naive_messages_per_second} msg/s    service/naive ${delivery.service_over_naive}`,
      );
    lines.push(
      `  raw (${delivery.raw_tool}): ${delivery.raw_messages_per_second} msg/s    service/raw ${delivery.service_over_raw}`,
    );
  }
  lines.push(
    `  first message after:     ${delivery.first_message_seconds} s; audience prepared in ${delivery.prepare_seconds} s`,
    `  sink got exactly N:      ${delivery.exactly_n_every_run ? 'yes' : 'NO'}`,
    `  peak RSS:                api ${delivery.peak_rss_mb.api} MB, worker ${delivery.peak_rss_mb.worker} MB`,
    `  Redis used memory:       ${delivery.redis_used_memory_mb.before} MB before, ${delivery.redis_used_memory_mb.after} MB after`,
    `  CPU per 1,000 messages:  workers ${delivery.cpu_seconds_per_1000.workers} s, PostgreSQL ${delivery.cpu_seconds_per_1000.postgres} s, Redis ${delivery.cpu_seconds_per_1000.redis} s`,
  );
}
if (recovery.killed_worker && recovery.flushed_redis) {
  const { killed_worker: killed, flushed_redis: flushed } = recovery;
  lines.push(
    `Recovery (two workers, fault at a quarter of the edition):`,
    `  one worker SIGKILLed:     its ${killed.at_fault} rows in flight all had an outcome ${killed.recovered_seconds} s after the kill; everyone reached: ${killed.everyone ? 'yes' : 'NO'}, duplicates ${killed.duplicates}`,
    `  Redis's keys deleted:     the lost work was queued again ${flushed.recovered_seconds} s after; everyone reached: ${flushed.everyone ? 'yes' : 'NO'}, duplicates ${flushed.duplicates}`,
  );
}
if (inbound) {
  lines.push(
    `Bounces (Postfix DSNs) into the inbound listener, ${inbound.messages} messages over ${inbound.sessions} SMTP sessions, each applied before its 250: service ${inbound.service_messages_per_second} msg/s; a bare smtp-server taking the same messages ${inbound.bare_messages_per_second} msg/s; service/bare ${inbound.service_over_bare}; every one applied: ${inbound.all_applied ? 'yes' : 'NO'}`,
  );
}
if (boot) {
  lines.push(
    `Boot to a healthy /health (npm start: embedded PGlite, outbox; medians): first start ${boot.first_seconds} s (copies the empty database the build made), later starts ${boot.later_seconds} s; a bare Node http server ${boot.bare_seconds} s; service/bare ${boot.later_over_bare}×`,
    `  idle resident memory after a first look at the pages: service ${boot.idle_rss_mb} MB (embedded PGlite); bare Node server ${boot.bare_idle_rss_mb} MB`,
  );
}
if (csvImport) {
  lines.push(
    `CSV import of ${csvImport.rows} rows: ${csvImport.service_rows_per_second} rows/s; raw pg INSERTs ${csvImport.raw_rows_per_second} rows/s; service/raw ${csvImport.service_over_raw}`,
  );
}
if (page) {
  lines.push(
    `Article page and click redirect (${page.connections} connections, ${page.seconds} s each, medians of ${page.runs} run(s)), against a bare http server sending the same bytes:`,
    ...(
      [
        ['stranger (page cache)', page.anonymous],
        ['stranger (page cache off)', page.anonymous_uncached],
        ['premium member (rendered)', page.premium_member],
        ['sign-in form (rendered, no query)', page.sign_in_form],
        ['click redirect (302)', page.click_redirect],
        ['front page (page cache)', page.home],
        ['search "qaryatayn" (rendered)', page.search],
      ] as const
    ).map(([who, load]) => loadLine(who, load)),
  );
}
if (embeddedPage) {
  lines.push(
    `The same article page on the embedded PGlite database (one ROLE=all process, as npm start runs it):`,
    ...(
      [
        ['stranger (page cache off)', embeddedPage.anonymous_uncached],
        ['premium member (rendered)', embeddedPage.premium_member],
      ] as const
    ).map(([who, load]) => loadLine(who, load)),
  );
}
process.stdout.write(`${lines.join('\n')}\n`);
process.stdout.write(
  `${JSON.stringify({ bench: 'depeche', date: new Date().toISOString(), machine, boot, delivery, recovery, csv_import: csvImport, inbound, page, embedded_page: embeddedPage })}\n`,
);
