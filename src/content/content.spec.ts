import { describe, expect, it } from 'vitest';
import { accessFor, gatedContent } from './access-gate.js';
import { plainText, renderMarkdown, truncateText } from './markdown.js';
import { cutTeaser } from './teaser.js';

describe('renderMarkdown', () => {
  it('keeps typed text byte for byte in English', () => {
    const text =
      'Syrie\u00a0: « l’EI » a pris, dimanche 1er octobre, le contrôle d’une ville — coïncidence ?';
    expect(renderMarkdown(text, 'en')).toBe(`<p>${text}</p>`);
  });

  it('sets French typography in French: the spaces before ; ! ? : and inside « », the apostrophes', () => {
    expect(renderMarkdown("Syrie : «l'EI» a pris la ville ; coïncidence ? Non !", 'fr')).toBe(
      '<p>Syrie\u00a0: «\u00a0l’EI\u00a0» a pris la ville\u202f; coïncidence\u202f? Non\u202f!</p>',
    );
    // Already set text stays as it is.
    const set = 'Syrie\u00a0: «\u00a0l’EI\u00a0» — coïncidence\u202f?';
    expect(renderMarkdown(set, 'fr')).toBe(`<p>${set}</p>`);
    // Emphasis splits the text: the mark after it is set all the same.
    expect(renderMarkdown('C’est **vrai** !', 'fr')).toBe('<p>C’est <strong>vrai</strong>\u202f!</p>');
  });

  it('never sets typography inside code, URLs or link addresses', () => {
    const html = renderMarkdown(
      [
        "Voir `a ? b : c` et `l'id` ; puis https://exemple.fr/a?b=c !",
        '[la source ?](https://exemple.fr/x?y=1 "Titre ?")',
        "```js\nconst x = a ? b : 'c';\n```",
      ].join('\n\n'),
      'fr',
    );
    expect(html).toContain('<code>a ? b : c</code>');
    expect(html).toContain("<code>l'id</code>");
    expect(html).toContain('\u202f; puis');
    expect(html).toContain('>https://exemple.fr/a?b=c</a>');
    expect(html).toContain('href="https://exemple.fr/a?b=c"');
    expect(html).toContain('href="https://exemple.fr/x?y=1"');
    expect(html).toContain('>la source\u202f?</a>');
    expect(html).toContain("const x = a ? b : 'c';");
  });

  it('removes scripts, event handlers and dangerous URLs', () => {
    const html = renderMarkdown(
      [
        '<script>alert(1)</script>',
        '<img src="x" onerror="alert(1)">',
        '[a](javascript:alert(1)) [b](data:text/html;base64,PHNjcmlwdD4=) [c](JaVaScRiPt:alert(1))',
        '<a href="vbscript:x" onclick="y">d</a> <iframe src="https://evil.example"></iframe>',
        '<p style="background:url(javascript:alert(1))">e</p>',
      ].join('\n\n'),
      'fr',
    );
    expect(html).not.toMatch(/<script|onerror|onclick|javascript:|data:|vbscript:|<iframe|style=/i);
    expect(html).toContain('<img src="x" />');
  });

  it('marks external links noopener and keeps code language classes only', () => {
    expect(renderMarkdown('[OSDH](https://example.org)', 'fr')).toBe(
      '<p><a href="https://example.org" rel="noopener">OSDH</a></p>',
    );
    expect(renderMarkdown('```ts\nconst a = 1;\n```', 'fr')).toContain('<code class="language-ts">');
  });
});

describe('cutTeaser', () => {
  const body = 'Premier paragraphe.\n\nDeuxième paragraphe.\n\n<!--more-->\n\nSECRET après la coupe.\n';

  it('cuts at the more marker', () => {
    const cut = cutTeaser(body, '', 5);
    expect(cut).toEqual({
      teaserMd: 'Premier paragraphe.\n\nDeuxième paragraphe.',
      restMd: 'SECRET après la coupe.',
      marked: true,
    });
  });

  it('cuts at a marker inside a paragraph', () => {
    const cut = cutTeaser('Avant la coupe <!-- more --> SECRET\n\nSuite.', '', 5);
    expect(cut.teaserMd).toBe('Avant la coupe');
    expect(cut.restMd).toBe('SECRET\n\nSuite.');
  });

  it('ignores a marker inside a code block', () => {
    const cut = cutTeaser('Intro.\n\n```\n<!--more-->\n```\n\nSuite.\n\nFin SECRET.', '', 1);
    expect(cut.marked).toBe(false);
    expect(cut.teaserMd).toBe('Intro.');
  });

  it('without a marker takes whole blocks up to the word budget, counting the lede', () => {
    const blocks = ['un deux trois quatre', 'cinq six sept huit', 'neuf dix onze douze', 'SECRET final'];
    const md = blocks.join('\n\n');
    expect(cutTeaser(md, '', 6).teaserMd).toBe(`${blocks[0]}\n\n${blocks[1]}`);
    expect(cutTeaser(md, '', 6).restMd).toBe(`${blocks[2]}\n\n${blocks[3]}`);
    expect(cutTeaser(md, 'un chapô de cinq mots', 6).teaserMd).toBe(blocks[0]);
  });

  it('without a marker never gives away the last block', () => {
    expect(cutTeaser('Un seul paragraphe SECRET.', '', 500).teaserMd).toBe('');
    expect(cutTeaser('Court.\n\nSECRET.', '', 500)).toMatchObject({ teaserMd: 'Court.', restMd: 'SECRET.' });
  });
});

describe('the access gate', () => {
  const premium = { access: 'premium' as const, bodyHtml: '<p>tout</p>', teaserHtml: '<p>début</p>' };
  const open = { ...premium, access: 'public' as const };

  it('shows premium articles in full only to premium subscribers and editors', () => {
    expect(accessFor(premium, 'public')).toBe('teaser');
    expect(accessFor(premium, 'free')).toBe('teaser');
    expect(accessFor(premium, 'premium')).toBe('full');
    expect(accessFor(premium, 'editor')).toBe('full');
    expect(gatedContent(premium, 'free').html).toBe('<p>début</p>');
    expect(gatedContent(premium, 'premium').html).toBe('<p>tout</p>');
  });

  it('shows public articles in full to everyone', () => {
    for (const audience of ['public', 'free', 'premium', 'editor'] as const) {
      expect(gatedContent(open, audience)).toEqual({ access: 'full', html: '<p>tout</p>' });
    }
  });
});

describe('plain text helpers', () => {
  it('strips tags and decodes entities', () => {
    expect(plainText('<p>L&#39;EI &amp; l&rsquo;AAS\u00a0: <b>bilan</b></p>\n<p>suite</p>')).toBe(
      "L'EI & l’AAS\u00a0: bilan suite",
    );
  });
  it('truncates at a word boundary', () => {
    expect(truncateText('un deux trois quatre', 12)).toBe('un deux…');
    expect(truncateText('court', 12)).toBe('court');
  });
});
