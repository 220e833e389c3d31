import type { Locale } from '../config/app-config.js';

/**
 * An amount in a currency's minor unit (cents), as the locale writes it: "5,00 €", "€5.00".
 * Currencies without a minor unit (JPY) are counted in whole units, as Stripe counts them.
 */
export function formatMoney(locale: Locale, currency: string, minorAmount: number): string {
  const format = new Intl.NumberFormat(locale, { style: 'currency', currency });
  return format.format(minorAmount / 10 ** minorDigits(currency));
}

function minorDigits(currency: string): number {
  return (
    new Intl.NumberFormat('en', { style: 'currency', currency }).resolvedOptions().maximumFractionDigits ?? 2
  );
}

/**
 * An amount as an editor types it ("5", "5,50", "49.90") in the currency's minor unit, or undefined
 * for anything else (a negative, more decimals than the currency has, words).
 */
export function parseMoney(currency: string, text: string): number | undefined {
  const digits = minorDigits(currency);
  const match = /^(\d{1,7})(?:[.,](\d+))?$/.exec(text.trim());
  if (!match) return undefined;
  const fraction = match[2] ?? '';
  if (fraction.length > digits) return undefined;
  return Number(match[1]) * 10 ** digits + Number(fraction.padEnd(digits, '0') || '0');
}
