import type { LoggerService } from '@nestjs/common';
import type { Logger } from 'pino';

/**
 * Nest's start-up chatter: one line per module, controller and route. Useful when a route is
 * missing, noise otherwise: it is logged at debug level.
 */
const CHATTY_CONTEXTS = new Set([
  'InstanceLoader',
  'RoutesResolver',
  'RouterExplorer',
  'NestFactory',
  'NestApplication',
]);

type Level = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace';

/**
 * Nest's LoggerService on the process's pino logger. Nest passes a message, then optional extra
 * parameters, the last of which is the context (the class name); an error's stack comes before it.
 * A first parameter that is an object is logged as fields, as pino does.
 */
export class NestPinoLogger implements LoggerService {
  constructor(private readonly logger: Logger) {}

  log(message: unknown, ...rest: unknown[]): void {
    this.write('info', message, rest);
  }

  error(message: unknown, ...rest: unknown[]): void {
    this.write('error', message, rest, true);
  }

  warn(message: unknown, ...rest: unknown[]): void {
    this.write('warn', message, rest);
  }

  debug(message: unknown, ...rest: unknown[]): void {
    this.write('debug', message, rest);
  }

  verbose(message: unknown, ...rest: unknown[]): void {
    this.write('trace', message, rest);
  }

  fatal(message: unknown, ...rest: unknown[]): void {
    this.write('fatal', message, rest, true);
  }

  private write(level: Level, message: unknown, rest: unknown[], withStack = false): void {
    const last = rest.at(-1);
    const context = typeof last === 'string' ? last : undefined;
    const args = context === undefined ? rest : rest.slice(0, -1);
    const effective: Level =
      level === 'info' && context !== undefined && CHATTY_CONTEXTS.has(context) ? 'debug' : level;
    if (!this.logger.isLevelEnabled(effective)) return;
    const fields: Record<string, unknown> = context === undefined ? {} : { context };
    if (message instanceof Error) {
      this.logger[effective]({ ...fields, err: message }, message.message);
    } else if (typeof message === 'object' && message !== null) {
      // logger.warn({ err, editionId }, 'What happened'): the fields, then the message.
      const text = typeof args[0] === 'string' ? args[0] : '';
      this.logger[effective]({ ...fields, ...(message as Record<string, unknown>) }, text);
    } else {
      const stack = withStack && typeof args[0] === 'string' ? args[0] : undefined;
      this.logger[effective]({ ...fields, ...(stack === undefined ? {} : { stack }) }, String(message));
    }
  }
}
