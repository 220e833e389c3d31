/**
 * What a shared cache (a CDN, a proxy, a browser) may keep of a page every reader sees alike: a few
 * seconds, so that an article turned premium or unpublished is gone from their copies as fast as
 * from ours, and no stale-while-revalidate, which would let them serve it long after.
 */
export const PUBLIC_CACHE_CONTROL = 'public, max-age=5';
