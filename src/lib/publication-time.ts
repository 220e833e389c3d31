const EXPLICIT_OFFSET = /(?:Z|[+-]\d{2}:?\d{2})$/i;
const ISO_LOCAL = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,3})\d*)?)?)?$/;

const wallClockFormats = new Map<string, Intl.DateTimeFormat>();

/** The wall-clock fields of an instant in a zone, through one cached formatter per zone. */
function wallClockParts(zone: string, utcMillis: number): Intl.DateTimeFormatPart[] {
  let format = wallClockFormats.get(zone);
  if (!format) {
    format = new Intl.DateTimeFormat('en-US', {
      timeZone: zone,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
    });
    wallClockFormats.set(zone, format);
  }
  return format.formatToParts(new Date(utcMillis));
}

/** Offset of `zone` from UTC at the instant `utcMillis`, in milliseconds. */
function zoneOffsetMillis(zone: string, utcMillis: number): number {
  const parts = wallClockParts(zone, utcMillis);
  const get = (type: Intl.DateTimeFormatPartTypes): number =>
    Number(parts.find((part) => part.type === type)?.value ?? 0);
  const asUtc = Date.UTC(
    get('year'),
    get('month') - 1,
    get('day'),
    get('hour'),
    get('minute'),
    get('second'),
  );
  return asUtc - Math.floor(utcMillis / 1000) * 1000;
}

/**
 * Reads an ISO 8601 date-time. With an offset (Z, +02:00) it is that instant; without one it is a
 * wall-clock time in the publication's time zone, which is what an editor means by "18:00".
 * Returns undefined for anything that is not a real date-time (2026-02-30, 25:00, free text).
 */
export function parsePublicationTime(input: string, zone: string): Date | undefined {
  const text = input.trim();
  const local = text.replace(EXPLICIT_OFFSET, '');
  const match = ISO_LOCAL.exec(local);
  if (!match) return undefined;
  const [, y, mo, d, h = '00', mi = '00', s = '00', ms = '0'] = match;
  const fields = [
    Number(y),
    Number(mo) - 1,
    Number(d),
    Number(h),
    Number(mi),
    Number(s),
    Number(ms.padEnd(3, '0')),
  ] as const;
  const wall = Date.UTC(...fields);
  const check = new Date(wall);
  // Date.UTC rolls 2026-02-30 over to March: a roll-over means the input named no real date.
  if (
    check.getUTCFullYear() !== fields[0] ||
    check.getUTCMonth() !== fields[1] ||
    check.getUTCDate() !== fields[2] ||
    check.getUTCHours() !== fields[3] ||
    check.getUTCMinutes() !== fields[4] ||
    check.getUTCSeconds() !== fields[5]
  ) {
    return undefined;
  }
  if (local !== text) {
    const parsed = new Date(text);
    return Number.isNaN(parsed.getTime()) ? undefined : parsed;
  }
  // Two passes settle the offset across a daylight-saving change.
  let utc = wall - zoneOffsetMillis(zone, wall);
  utc = wall - zoneOffsetMillis(zone, utc);
  return new Date(utc);
}

/**
 * The inverse of parsePublicationTime: an instant as the wall clock in `zone` shows it,
 * YYYY-MM-DDTHH:mm:ss, which a datetime-local field takes (and its first 10 characters are the day).
 */
export function formatPublicationTime(date: Date, zone: string): string {
  const parts = wallClockParts(zone, date.getTime());
  const get = (type: Intl.DateTimeFormatPartTypes): string =>
    parts.find((part) => part.type === type)?.value ?? '00';
  return `${get('year')}-${get('month')}-${get('day')}T${get('hour')}:${get('minute')}:${get('second')}`;
}
