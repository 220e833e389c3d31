import type { Token } from 'marked';
import { markdownBlocks } from './markdown.js';

/** WordPress's marker, which bloggers already know. */
const MORE_MARKER = /<!--\s*more\s*-->/i;

export interface TeaserCut {
  /** Markdown of the public part, before the cut. */
  readonly teaserMd: string;
  /** Markdown of the rest, after the cut: what only premium readers and editors see. */
  readonly restMd: string;
  /** Whether the cut came from the author's marker (else from the word count). */
  readonly marked: boolean;
}

function countWords(text: string): number {
  return text.split(/\s+/u).filter((word) => /[\p{L}\p{N}]/u.test(word)).length;
}

function isBlank(token: Token): boolean {
  return token.type === 'space';
}

/**
 * Where the public part of an article ends. At the first `<!--more-->` outside code; without one,
 * after whole blocks until `wordBudget` words (the lede, counted first, takes its share). Without a
 * marker the last block is never given away, so a short premium article still keeps something back.
 */
export function cutTeaser(bodyMd: string, lede: string, wordBudget: number): TeaserCut {
  const blocks = markdownBlocks(bodyMd);
  let teaserMd = '';
  for (const [index, block] of blocks.entries()) {
    const marker = block.type === 'code' ? null : MORE_MARKER.exec(block.raw);
    if (marker) {
      const after = block.raw.slice(marker.index + marker[0].length);
      const restMd = (
        after +
        blocks
          .slice(index + 1)
          .map((b) => b.raw)
          .join('')
      ).trim();
      return { teaserMd: (teaserMd + block.raw.slice(0, marker.index)).trimEnd(), restMd, marked: true };
    }
    teaserMd += block.raw;
  }

  const contentBlocks = blocks.filter((block) => !isBlank(block));
  let words = countWords(lede);
  let taken = 0;
  let autoMd = '';
  for (const block of contentBlocks) {
    if (taken > 0 && words >= wordBudget) break;
    if (taken === contentBlocks.length - 1) break;
    autoMd += block.raw.endsWith('\n') ? block.raw : `${block.raw}\n\n`;
    words += countWords(block.raw);
    taken += 1;
  }
  const restMd = contentBlocks
    .slice(taken)
    .map((block) => block.raw)
    .join('\n\n')
    .trim();
  return { teaserMd: autoMd.trimEnd(), restMd, marked: false };
}
