/**
 * A member's article page with nothing of the service but its I/O: a bare Node `http` server that,
 * for every request, reads the member's session as the service does (from Redis, then from memory
 * while it holds it: CachedTokens) and runs the page's own prepared statement (ARTICLES_FOR_READERS,
 * through ArticlesForReaders as the service runs it) over a pool of the service's size, then sends
 * the bytes the service sent for that page. No framework, no rendering: what the page's reads cost
 * on this machine, the floor under the member's page.
 * Usage: tsx io-floor-server-process.ts PORT FILE DATABASE_URL REDIS_URL SESSION_NAMESPACE TOKEN SLUG
 */
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { Redis } from 'ioredis';
import pg from 'pg';
import { ARTICLES_FOR_READERS, ArticlesForReaders } from '../../src/articles/article-for-reader.js';
import { MEMBER_IDLE_SECONDS, MEMBER_SESSION_HOLD } from '../../src/members/member-sessions.js';
import { CachedTokens } from '../../src/redis/cached-tokens.js';
import { HashedTokens } from '../../src/redis/hashed-tokens.js';

const [port, file, databaseUrl, redisUrl, namespace, token, slug] = process.argv.slice(2);
const page = readFileSync(file ?? '');
const pool = new pg.Pool({ connectionString: databaseUrl, max: 10 });
const redis = new Redis(redisUrl ?? '');
const sessions = new CachedTokens(
  new HashedTokens<{ subscriberId: string }>(redis, namespace ?? '', MEMBER_IDLE_SECONDS),
  redis,
  MEMBER_SESSION_HOLD,
);

// As the service reads it: the article's text sent once, then again only once it has changed.
const reads = new ArticlesForReaders(
  async (values) =>
    (
      await pool.query<Record<string, unknown>>({
        name: ARTICLES_FOR_READERS.name,
        text: ARTICLES_FOR_READERS.text,
        values: [...values],
      })
    ).rows,
);

async function answer(): Promise<boolean> {
  const session = await sessions.touch(token);
  return (await reads.find(slug ?? '', session?.subscriberId))?.subscriber !== undefined;
}

createServer((_request, response) => {
  answer().then(
    (found) => {
      if (!found) {
        response.writeHead(404).end();
        return;
      }
      response.writeHead(200, {
        'content-type': 'text/html; charset=utf-8',
        'content-length': page.length,
        'cache-control': 'private, no-store',
      });
      response.end(page);
    },
    () => response.writeHead(500).end(),
  );
}).listen(Number(port), '127.0.0.1', () => {
  process.stdout.write('listening\n');
});
