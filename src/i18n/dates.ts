import type { Locale } from '../config/app-config.js';

/** "1 octobre 2017" in French, "October 1, 2017" in English, in the publication's time zone. */
export function longDateFormat(locale: Locale, timeZone: string): Intl.DateTimeFormat {
  return new Intl.DateTimeFormat(locale, { dateStyle: 'long', timeZone });
}
