/** What a spreadsheet reads as the start of a formula (OWASP's list for CSV injection). */
const FORMULA_START = /^[=+\-@\t\r]/;

/**
 * A cell as a spreadsheet must show it: text that would start a formula (`=HYPERLINK(…)`,
 * `=cmd|…`) is prefixed with a quote, which spreadsheets read as "this is text" and do not show.
 * Only exports are changed; what subscribers and imports gave is stored as given.
 */
export function spreadsheetSafe(cell: string): string {
  return FORMULA_START.test(cell) ? `'${cell}` : cell;
}
