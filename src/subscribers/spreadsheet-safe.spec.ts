import { describe, expect, it } from 'vitest';
import { spreadsheetSafe } from './spreadsheet-safe.js';

describe('spreadsheetSafe', () => {
  it('turns every formula start into text', () => {
    for (const cell of [
      '=HYPERLINK("https://x","y")',
      "=cmd|' /C calc'!A0",
      '+33 6',
      '-2+3',
      '@SUM(A1)',
      '\tx',
      '\rx',
    ]) {
      expect(spreadsheetSafe(cell), cell).toBe(`'${cell}`);
    }
  });

  it('leaves everything else as it is', () => {
    for (const cell of ['Hélène', 'a=b', 'lectrice@exemple.fr', '', ' =x'])
      expect(spreadsheetSafe(cell)).toBe(cell);
  });
});
