import { describe, expect, it } from 'vitest';
import { RECIPIENT_MARKERS } from './prepared-message.js';
import { linkIdOf, trackLinks } from './tracked-links.js';

describe('trackLinks', () => {
  const article = `https://blog.example.test/articles/syrie${RECIPIENT_MARKERS.readerQuery}`;
  const html = [
    `<a href="${article}" style="color:#000">Lire la suite</a>`,
    `<a class="x" href="https://exemple.org/rapport?a=1&amp;b=2">rapport</a>`,
    `<a href="${RECIPIENT_MARKERS.unsubscribeUrl}">Se désinscrire</a>`,
    `<a href="${RECIPIENT_MARKERS.webVersionUrl}">Version web</a>`,
    `<a href="mailto:redaction@exemple.fr">écrire</a>`,
  ].join('\n');
  const text = `Lire la suite [${article}]\nSe désinscrire : ${RECIPIENT_MARKERS.unsubscribeUrl}\n`;

  it('replaces web links with click markers and leaves the rest alone', () => {
    const tracked = trackLinks(html, text);
    expect([...tracked.links.values()].sort()).toEqual(
      [article, 'https://exemple.org/rapport?a=1&b=2'].sort(),
    );
    expect(tracked.html).toContain(`href="%%DEPECHE_CLICK_${linkIdOf(article)}%%" style`);
    expect(tracked.html).not.toContain('https://');
    expect(tracked.html).toContain(`href="${RECIPIENT_MARKERS.unsubscribeUrl}"`);
    expect(tracked.html).toContain(`href="${RECIPIENT_MARKERS.webVersionUrl}"`);
    expect(tracked.html).toContain('href="mailto:redaction@exemple.fr"');
    expect(tracked.text).toBe(
      `Lire la suite [%%DEPECHE_CLICK_${linkIdOf(article)}%%]\nSe désinscrire : ${RECIPIENT_MARKERS.unsubscribeUrl}\n`,
    );
  });
});
