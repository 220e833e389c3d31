import 'reflect-metadata';
import type { INestApplicationContext } from '@nestjs/common';
import { Logger } from 'nestjs-pino';
import { createHttpApp, createWorkerContext } from './bootstrap.js';
import { type AppConfig, ConfigError, loadConfig } from './config/app-config.js';
import { ensureRedis, type PrivateRedis, RedisUnavailableError } from './redis/private-redis.js';

function fail(message: string): never {
  process.stderr.write(`${message}\n`);
  process.exit(1);
}

async function start(config: AppConfig): Promise<INestApplicationContext> {
  if (config.role === 'worker') {
    const worker = await createWorkerContext(config);
    await worker.init();
    worker.get(Logger).log('Dépêche worker started', 'Main');
    return worker;
  }
  const app = await createHttpApp(config);
  await app.listen({ port: config.port, host: config.host });
  app.get(Logger).log(`Dépêche is serving ${config.publicUrl} (listening on ${await app.getUrl()})`, 'Main');
  return app;
}

/**
 * On SIGTERM or SIGINT: close the application (its shutdown hooks drain the queues), then stop the
 * private Redis if this process started one, then exit. A second signal exits at once.
 */
function closeOnSignal(
  app: INestApplicationContext,
  privateRedis: PrivateRedis | undefined,
  timeoutMs: number,
): void {
  let closing = false;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (closing) process.exit(1);
    closing = true;
    app.get(Logger).log(`${signal} received: shutting down`, 'Main');
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

async function main(): Promise<void> {
  let config: AppConfig;
  try {
    config = loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) fail(error.message);
    throw error;
  }
  let privateRedis: PrivateRedis | undefined;
  try {
    privateRedis = await ensureRedis(config);
  } catch (error) {
    if (error instanceof RedisUnavailableError) fail(error.message);
    throw error;
  }
  closeOnSignal(await start(config), privateRedis, config.shutdownTimeoutMs);
}

main().catch((error: unknown) => {
  fail(`Dépêche failed to start: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
});
