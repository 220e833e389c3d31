/** What a report says is kept on one line of at most this many characters. */
const MAX_DETAIL = 300;

/**
 * A report's words as an event keeps them: one line, no control characters (a NUL would make the
 * database refuse the whole batch it came in), and short.
 */
export function detailLine(text: string): string {
  // eslint-disable-next-line no-control-regex
  const line = text.replace(/[\u0000-\u001f\u007f\s]+/g, ' ').trim();
  return line.length > MAX_DETAIL ? `${line.slice(0, MAX_DETAIL - 1)}…` : line;
}
