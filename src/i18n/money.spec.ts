import { describe, expect, it } from 'vitest';
import { formatMoney } from './money.js';

describe('formatMoney', () => {
  it('writes minor units as the locale does, whatever the currency’s decimals', () => {
    expect(formatMoney('fr', 'EUR', 500)).toBe('5,00\u00a0€');
    expect(formatMoney('en', 'EUR', 4999)).toBe('€49.99');
    expect(formatMoney('fr', 'JPY', 500)).toMatch(/^500\D/);
  });
});
