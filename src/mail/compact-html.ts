/**
 * A `<pre>` or `<textarea>` element whole: the only places in an email where a line's leading
 * spaces show (articles' code blocks; the layout gives `pre` `white-space: pre-wrap`).
 */
const KEPT_AS_WRITTEN = /<(pre|textarea)\b[\s\S]*?<\/\1\s*>|[ \t]*\n[ \t\n\f\r]*/gi;

/**
 * The HTML of an email without the indentation MJML writes for people to read it, nor its blank
 * lines: about a sixth of an edition's HTML, sent again in every copy. Outside `<pre>` and
 * `<textarea>`, a run of white space that holds a line break shows as one space wherever it
 * stands, so each such run becomes a single line break, and what a reader sees does not change.
 * Only HTML's own white space (space, tab, line feed, form feed, carriage return) goes: a no-break
 * space, which French typography puts before « : » and inside guillemets, is text.
 * Lines only get shorter, so none grows past a transport's limit.
 */
export function withoutIndentation(html: string): string {
  return html.replace(KEPT_AS_WRITTEN, (found) => (found.charCodeAt(0) === 0x3c ? found : '\n'));
}
