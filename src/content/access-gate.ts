import type { ArticleAccess } from '../database/schema.js';

/**
 * Who is looking. `public` is anyone on the web (pages, feeds, meta tags); `free` and `premium` are
 * subscribers by tier (emails); `editor` is a signed-in editor or an API token.
 */
export type Audience = 'public' | 'free' | 'premium' | 'editor';
export type Access = 'full' | 'teaser';

export interface GatedArticle {
  readonly access: ArticleAccess;
  readonly bodyHtml: string;
  readonly teaserHtml: string;
}

export interface GatedContent {
  readonly access: Access;
  /** The HTML this audience may see: the whole body, or the part before the cut. */
  readonly html: string;
}

/** THE decision: what an audience may see of an article. Every output goes through here. */
export function accessFor(article: Pick<GatedArticle, 'access'>, audience: Audience): Access {
  switch (article.access) {
    case 'public':
      return 'full';
    case 'premium':
      switch (audience) {
        case 'premium':
        case 'editor':
          return 'full';
        case 'public':
        case 'free':
          return 'teaser';
      }
  }
}

export function gatedContent(article: GatedArticle, audience: Audience): GatedContent {
  const access = accessFor(article, audience);
  return { access, html: access === 'full' ? article.bodyHtml : article.teaserHtml };
}
