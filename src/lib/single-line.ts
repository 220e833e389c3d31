// eslint-disable-next-line no-control-regex
const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;

/**
 * One line with no control characters: safe in a header, a title, a subject or a log line. The one
 * rule for every value that must stay on one line, from a form, the API or the environment.
 */
export function isSingleLine(text: string): boolean {
  return !CONTROL_CHARACTERS.test(text);
}
