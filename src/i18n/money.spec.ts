import { describe, expect, it } from 'vitest';
import { formatMoney, parseMoney } from './money.js';

describe('formatMoney', () => {
  it('writes minor units as the locale does, whatever the currency’s decimals', () => {
    expect(formatMoney('fr', 'EUR', 500)).toBe('5,00\u00a0€');
    expect(formatMoney('en', 'EUR', 4999)).toBe('€49.99');
    expect(formatMoney('fr', 'JPY', 500)).toMatch(/^500\D/);
  });

  it('reads an amount as an editor types it, in minor units', () => {
    expect(parseMoney('EUR', '5')).toBe(500);
    expect(parseMoney('EUR', '5,5')).toBe(550);
    expect(parseMoney('EUR', ' 49.90 ')).toBe(4990);
    expect(parseMoney('JPY', '500')).toBe(500);
    for (const bad of ['', '-5', '5,555', 'cinq', '1e3', '5,'])
      expect(parseMoney('EUR', bad), bad).toBeUndefined();
    expect(parseMoney('JPY', '5,5')).toBeUndefined();
  });
});
