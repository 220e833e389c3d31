import { type GatedArticle, gatedContent } from './access-gate.js';
import { plainText } from './markdown.js';

/** The words search indexes of an article, each part folded (see foldForSearch). */
export interface SearchDocument {
  readonly title: string;
  readonly lede: string;
  /** What the public may read of the body: the whole of a public article, a premium one's teaser. */
  readonly body: string;
}

/**
 * Text as search compares it: accents and ligatures folded (« économie », « Economie » and
 * « economie » are one word; « cœur » is « coeur »), apostrophes of either kind between words
 * (« l’État » is « l etat »), lower case. Documents and queries both go through it.
 */
export function foldForSearch(text: string): string {
  return text
    .normalize('NFD')
    .replace(/\p{M}+/gu, '')
    .replace(/œ/g, 'oe')
    .replace(/Œ/g, 'OE')
    .replace(/æ/g, 'ae')
    .replace(/Æ/g, 'AE')
    .replace(/['’‘ʼ`]/g, ' ')
    .toLowerCase();
}

/** What search may find of an article: what the public may read, through THE access gate. */
export function searchDocument(
  article: GatedArticle & { readonly title: string; readonly lede: string },
): SearchDocument {
  return {
    title: foldForSearch(article.title),
    lede: foldForSearch(article.lede),
    body: foldForSearch(plainText(gatedContent(article, 'public').html)),
  };
}
