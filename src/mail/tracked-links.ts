import { createHash } from 'node:crypto';

/** Where each recipient's click URL for a link goes: the link's id sits between the marker's ends. */
export const CLICK_MARKER = { start: '%%DEPECHE_CLICK_', end: '%%' } as const;
export const CLICK_MARKER_PATTERN = /%%DEPECHE_CLICK_([A-Za-z0-9_-]{10})%%/g;

/**
 * The pixel that counts opens is a tracked "link" of its own, with this id (no edition link has
 * it: theirs are hashes): its views are counted as clicks on it are, through the same token, at
 * `/o/<token>`. Opens are off unless an editor turns them on, and unreliable: Apple Mail and some
 * other clients fetch every image on delivery (Mail Privacy Protection), others never do.
 */
export const OPEN_PIXEL_ID = 'open-pixel';

/** The pixel, put at the end of an edition's HTML when opens are counted. */
export function withOpenPixel(html: string): string {
  const pixel = `<img src="${CLICK_MARKER.start}${OPEN_PIXEL_ID}${CLICK_MARKER.end}" width="1" height="1" alt="" style="display:block;width:1px;height:1px;border:0">`;
  const end = html.lastIndexOf('</body>');
  return end === -1 ? `${html}${pixel}` : `${html.slice(0, end)}${pixel}${html.slice(end)}`;
}

/** A link's id: derived from its URL, so that every worker names the same link the same way. */
export function linkIdOf(url: string): string {
  return createHash('sha256').update(url, 'utf8').digest('base64url').slice(0, 10);
}

function decodeAttribute(value: string): string {
  return value
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&');
}

export interface TrackedLinks {
  readonly html: string;
  readonly text: string;
  /** Each link's id and the URL it stands for. */
  readonly links: ReadonlyMap<string, string>;
}

/**
 * Puts a click marker in place of every web link of an edition's HTML and text: each recipient's
 * copy then links to the publication's own redirect, which counts the click and goes on to the link.
 * Only http(s) links are replaced; the unsubscribe, preferences and web-version links are markers of
 * their own, never web links at this point, so they stay as they are.
 */
export function trackLinks(html: string, text: string): TrackedLinks {
  const links = new Map<string, string>();
  const marker = (url: string): string => {
    const id = linkIdOf(url);
    links.set(id, url);
    return `${CLICK_MARKER.start}${id}${CLICK_MARKER.end}`;
  };
  const trackedHtml = html.replace(
    /(<a\b[^>]*?\bhref=)"(https?:\/\/[^"]+)"/gi,
    (_all, head: string, href: string) => {
      return `${head}"${marker(decodeAttribute(href))}"`;
    },
  );
  // html-to-text writes links as [url]; every bare web URL of the text goes the same way.
  const trackedText = text.replace(/https?:\/\/[^\s\]<>"]+/g, (url) => marker(url));
  return { html: trackedHtml, text: trackedText, links };
}
