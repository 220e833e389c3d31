/**
 * A member's article page with nothing of the service but its I/O: a bare Node `http` server that,
 * for every request, reads the member's session as the service does (from Redis, then from memory
 * while it holds it: CachedTokens) and runs the page's own prepared statement (ARTICLE_FOR_READER)
 * over a pool of the service's size, then sends the bytes the service sent for that page. No
 * framework, no rendering: what the page's reads cost on this machine, the floor under the member's
 * page.
 * Usage: tsx io-floor-server-process.ts PORT FILE DATABASE_URL REDIS_URL SESSION_NAMESPACE TOKEN SLUG
 */
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { Redis } from 'ioredis';
import pg from 'pg';
import { ARTICLE_FOR_READER } from '../../src/articles/article-for-reader.js';
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

async function answer(): Promise<boolean> {
  const session = await sessions.touch(token);
  const { rows } = await pool.query<Record<string, unknown>>({
    name: ARTICLE_FOR_READER.name,
    text: ARTICLE_FOR_READER.text,
    values: [slug, session?.subscriberId ?? null],
  });
  return ARTICLE_FOR_READER.read(rows[0])?.subscriber !== undefined;
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
