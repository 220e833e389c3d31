import 'reflect-metadata';
import { chmodSync, mkdirSync } from 'node:fs';
import { setFlagsFromString } from 'node:v8';
import type { INestApplicationContext, Logger } from '@nestjs/common';
import { type AppConfig, ConfigError, loadConfig } from './config/app-config.js';
import { startEmbeddedDatabase } from './database/embedded-database.js';
import { bannerLines, bootFacts } from './logging/boot-banner.js';
import { ensureRedis, type PrivateRedis, RedisUnavailableError } from './redis/private-redis.js';

function fail(message: string): never {
  process.stderr.write(`${message}\n`);
  process.exit(1);
}

/** The banner: lines for a person, or one JSON line with the same facts as fields. */
function announce(logger: Logger, config: AppConfig, facts: ReturnType<typeof bootFacts>): void {
  const [title = '', ...rows] = bannerLines(facts);
  if (config.logFormat === 'json') logger.log({ ...facts }, title);
  else logger.log([title, ...rows].join('\n'));
}

async function start(
  logger: Logger,
  config: AppConfig,
  privateRedis: PrivateRedis | undefined,
): Promise<INestApplicationContext> {
  // Loaded here, not at the top: the embedded database starts while the service loads.
  const { createHttpApp, createWorkerContext } = await import('./bootstrap.js');
  if (config.role === 'worker' || config.role === 'inbound') {
    const worker = await createWorkerContext(config);
    await worker.init();
    announce(logger, config, bootFacts(config, privateRedis?.dir));
    return worker;
  }
  const app = await createHttpApp(config);
  await app.listen({ port: config.port, host: config.host });
  const address = app.getHttpServer().address();
  const port = typeof address === 'object' && address !== null ? address.port : config.port;
  announce(logger, config, bootFacts(config, privateRedis?.dir, port));
  return app;
}

/**
 * On SIGTERM or SIGINT: close the application (its shutdown hooks drain the queues), then stop the
 * private Redis if this process started one, then exit. A second signal exits at once.
 */
function closeOnSignal(
  logger: Logger,
  app: INestApplicationContext,
  privateRedis: PrivateRedis | undefined,
  timeoutMs: number,
): void {
  let closing = false;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (closing) process.exit(1);
    closing = true;
    logger.log(`${signal} received: shutting down`);
    // BullMQ's Worker.close() never resolves while Redis is unreachable (bullmq#4656): bound the wait.
    setTimeout(() => {
      fail(`Shutdown took longer than ${timeoutMs} ms (SHUTDOWN_TIMEOUT_MS); exiting anyway`);
    }, timeoutMs).unref();
    void app
      .close()
      .then(() => privateRedis?.stop())
      .then(
        () => process.exit(0),
        (error: unknown) => fail(`Shutdown failed: ${String(error)}`),
      );
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
}

/**
 * DATA_DIR closed to other users. The umask covers what this process creates, but the embedded
 * database sets its files' modes itself (0666): the folder around them is what keeps them private.
 */
function closeDataDir(dataDir: string): void {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  try {
    chmodSync(dataDir, 0o700);
  } catch {
    // Not this user's folder (a mounted volume): its owner decides.
  }
}

/**
 * A worker's heap may grow to 1.3 times what its last full collection kept, V8's own conservative
 * factor, instead of up to 4 times. A send's chunks (500 rows and what is made of them) outlive
 * a few scavenges, so their garbage builds up in the old generation until the next full
 * collection. With the default factor, the limit set by a collection early in a worker's life let
 * that garbage build for minutes: at 1,000,000 recipients a worker peaked at 263 MB, against a
 * steady 205–218 MB, and 207 MB with this bound at the same speed. It is a factor, not a cap:
 * a worker that needs more heap still gets it. V8 reads the flag at every full collection, so it
 * can be set here; NODE_OPTIONS does not accept it.
 */
function boundHeapGrowth(): void {
  setFlagsFromString('--heap-growing-percent=30');
}

async function main(): Promise<void> {
  // What this process writes under DATA_DIR (the database, the outbox, Redis's data) holds
  // subscribers' personal data: no other user of the machine may read it.
  process.umask(0o077);
  let config: AppConfig;
  try {
    config = loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) fail(error.message);
    throw error;
  }
  if (config.role === 'worker') boundHeapGrowth();
  closeDataDir(config.dataDir);
  if (config.databaseUrl === undefined) startEmbeddedDatabase(config.dataDir);
  let privateRedis: PrivateRedis | undefined;
  try {
    privateRedis = await ensureRedis(config);
  } catch (error) {
    if (error instanceof RedisUnavailableError) fail(error.message);
    throw error;
  }
  const logger = new (await import('@nestjs/common')).Logger('Main');
  closeOnSignal(logger, await start(logger, config, privateRedis), privateRedis, config.shutdownTimeoutMs);
}

main().catch((error: unknown) => {
  fail(`Dépêche failed to start: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
});
