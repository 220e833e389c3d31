import type { Locale } from '../config/app-config.js';

/**
 * An amount in a currency's minor unit (cents), as the locale writes it: "5,00 €", "€5.00".
 * Currencies without a minor unit (JPY) are counted in whole units, as Stripe counts them.
 */
export function formatMoney(locale: Locale, currency: string, minorAmount: number): string {
  const format = new Intl.NumberFormat(locale, { style: 'currency', currency });
  const digits = format.resolvedOptions().maximumFractionDigits ?? 2;
  return format.format(minorAmount / 10 ** digits);
}
