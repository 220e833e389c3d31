import { CronExpressionParser } from 'cron-parser';

/** A recurring slot: a cron expression read as wall-clock time in a time zone. */
export interface Recurrence {
  readonly cron: string;
  readonly timeZone: string;
}

const MACROS = new Set(['@yearly', '@annually', '@monthly', '@weekly', '@daily', '@hourly']);

/**
 * Why `cron` cannot be a recurrence, or undefined when it can. Five fields (minute hour
 * day-of-month month day-of-week) or a macro such as @weekly: a seconds field is refused, since
 * an edition a second makes no sense and a sixth field is usually a mistake.
 */
export function cronProblem(cron: string, timeZone: string): string | undefined {
  const text = cron.trim();
  const fields = text.split(/\s+/);
  if (!MACROS.has(text.toLowerCase()) && fields.length !== 5) {
    return `expected five fields (minute hour day-of-month month day-of-week) such as "0 18 * * 0", got ${fields.length}`;
  }
  try {
    CronExpressionParser.parse(text, { tz: timeZone }).next();
  } catch (error) {
    return `"${text}" is not a valid cron expression: ${(error as Error).message}`;
  }
  return undefined;
}

/** The next `count` slots strictly after `after`, as instants; daylight-saving changes included. */
export function nextSlots(recurrence: Recurrence, after: Date, count = 1): Date[] {
  const expression = CronExpressionParser.parse(recurrence.cron.trim(), {
    tz: recurrence.timeZone,
    currentDate: after,
  });
  return expression.take(count).map((slot) => slot.toDate());
}

export function nextSlot(recurrence: Recurrence, after: Date): Date {
  const [slot] = nextSlots(recurrence, after, 1);
  if (!slot) throw new Error(`The recurrence "${recurrence.cron}" has no next slot`);
  return slot;
}
