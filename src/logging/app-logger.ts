import { pino, type Logger } from 'pino';
import pretty from 'pino-pretty';
import type { AppConfig } from '../config/app-config.js';

/**
 * The process's one pino logger: Nest's own messages, request lines and the boot banner all go
 * through it. JSON lines in production, for a collector; short coloured lines for a person
 * otherwise. Written synchronously so that the last lines before an exit are never lost.
 */
export function createAppLogger(config: Pick<AppConfig, 'logLevel' | 'logFormat' | 'role'>): Logger {
  const options = {
    level: config.logLevel,
    base: { service: 'depeche', role: config.role },
    redact: ['req.headers.authorization', 'req.headers.cookie', 'res.headers["set-cookie"]'],
  };
  if (config.logFormat === 'json') return pino(options, pino.destination({ dest: 1, sync: true }));
  return pino(
    options,
    pretty({
      destination: 1,
      sync: true,
      colorize: process.stdout.isTTY,
      translateTime: 'SYS:HH:MM:ss',
      ignore: 'pid,hostname,service,role,context',
      messageFormat: '{if context}[{context}] {end}{msg}',
      hideObject: false,
    }),
  );
}
