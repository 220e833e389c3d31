import path from 'node:path';
import type { AppConfig } from '../config/app-config.js';

/** What a person starting Dépêche needs to know, and a machine reading its logs too. */
export interface BootFacts {
  readonly role: AppConfig['role'];
  readonly publicUrl: string;
  readonly deskUrl?: string;
  readonly docsUrl?: string;
  /** Where the HTTP server listens, said as it is: every interface or one address. */
  readonly listening?: string;
  readonly database: string;
  readonly mail: string;
  /** Where bounces, complaints and mailed unsubscribes are taken, when this process takes them. */
  readonly inbound?: string;
  readonly redis: string;
  /** From the process's start to ready (listening, or the worker ticking), in seconds. */
  readonly bootSeconds: number;
}

/** A URL with its password hidden, for logs. */
export function withoutPassword(url: string): string {
  const parsed = new URL(url);
  if (parsed.password !== '') parsed.password = '***';
  return parsed.toString();
}

const EVERY_INTERFACE = new Set(['0.0.0.0', '::', '[::]']);

export function bootFacts(
  config: AppConfig,
  privateRedisDir: string | undefined,
  listeningPort?: number,
  bootSeconds = Number(process.uptime().toFixed(2)),
): BootFacts {
  const servesHttp = config.role === 'all' || config.role === 'api';
  const here = (file: string): string => path.relative(process.cwd(), file) || '.';
  return {
    role: config.role,
    publicUrl: config.publicUrl,
    ...(servesHttp
      ? {
          deskUrl: `${config.publicUrl}/admin`,
          docsUrl: `${config.publicUrl}/docs`,
          listening: EVERY_INTERFACE.has(config.host)
            ? `port ${listeningPort ?? config.port} on every interface`
            : `${config.host}:${listeningPort ?? config.port}`,
        }
      : {}),
    database:
      config.databaseUrl === undefined
        ? `embedded PGlite in ${here(path.join(config.dataDir, 'pglite'))}`
        : `PostgreSQL at ${withoutPassword(config.databaseUrl)}`,
    mail:
      config.smtpUrl === undefined
        ? `written as .eml files to ${here(path.join(config.dataDir, 'outbox'))}`
        : `sent through ${withoutPassword(config.smtpUrl)}`,
    ...(config.inbound && config.role !== 'api'
      ? { inbound: `SMTP on ${config.inbound.host}:${config.inbound.port} for ${config.verpAddress ?? ''}` }
      : {}),
    redis:
      privateRedisDir === undefined
        ? withoutPassword(config.redisUrl)
        : `a private redis-server on ${config.redisUrl}, started by this process (data in ${here(privateRedisDir)})`,
    bootSeconds,
  };
}

/** The banner as lines for a person. */
export function bannerLines(facts: BootFacts): string[] {
  const rows: [string, string | undefined][] = [
    ['Blog', facts.deskUrl === undefined ? undefined : `${facts.publicUrl}/`],
    ['Desk', facts.deskUrl],
    ['API docs', facts.docsUrl],
    ['Listening', facts.listening],
    ['Database', facts.database],
    ['Mail', facts.mail],
    ['Inbound', facts.inbound],
    ['Redis', facts.redis],
  ];
  const title =
    facts.role === 'worker'
      ? `Dépêche worker started (role worker: sends editions, no HTTP), ready in ${facts.bootSeconds} s`
      : facts.role === 'inbound'
        ? `Dépêche inbound mail started (role inbound: takes bounces and complaints, no HTTP), ready in ${facts.bootSeconds} s`
        : `Dépêche is serving ${facts.publicUrl} (role ${facts.role}), ready in ${facts.bootSeconds} s`;
  return [
    title,
    ...rows.filter(([, value]) => value !== undefined).map(([name, value]) => `  ${name.padEnd(10)}${value}`),
  ];
}
