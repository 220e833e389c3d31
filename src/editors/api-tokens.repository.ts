import { createHash, randomBytes } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { and, desc, eq, isNull, lt, or, sql } from 'drizzle-orm';
import { DatabaseClient } from '../database/database-client.js';
import { type ApiTokenRow, apiTokens, type TokenScope } from '../database/schema.js';

/** Recognisable in logs and secret scanners, like other services' token prefixes. */
const TOKEN_PREFIX = 'dpc_';

export function tokenHash(secret: string): string {
  return createHash('sha256').update(secret, 'utf8').digest('hex');
}

export interface IssuedToken {
  readonly row: ApiTokenRow;
  /** The whole secret: shown once, never stored. */
  readonly secret: string;
}

export interface ActiveToken {
  readonly id: string;
  readonly editorId: string;
  readonly scope: TokenScope;
}

@Injectable()
export class ApiTokensRepository {
  constructor(@Inject(DatabaseClient) private readonly database: DatabaseClient) {}

  async issue(editorId: string, name: string, scope: TokenScope): Promise<IssuedToken> {
    const secret = `${TOKEN_PREFIX}${randomBytes(32).toString('base64url')}`;
    const [row] = await this.database.db
      .insert(apiTokens)
      .values({ editorId, name, scope, tokenHash: tokenHash(secret), hint: secret.slice(0, 10) })
      .returning();
    if (!row) throw new Error('The token was not stored');
    return { row, secret };
  }

  listFor(editorId: string): Promise<ApiTokenRow[]> {
    return this.database.db
      .select()
      .from(apiTokens)
      .where(eq(apiTokens.editorId, editorId))
      .orderBy(desc(apiTokens.createdAt));
  }

  /** Whether a token of this editor's was live and is now revoked. */
  async revoke(editorId: string, id: string): Promise<boolean> {
    const rows = await this.database.db
      .update(apiTokens)
      .set({ revokedAt: sql`now()` })
      .where(and(eq(apiTokens.id, id), eq(apiTokens.editorId, editorId), isNull(apiTokens.revokedAt)))
      .returning({ id: apiTokens.id });
    return rows.length > 0;
  }

  /** The live token with this secret, noting its use (at most once a minute, to spare writes). */
  async use(secret: string): Promise<ActiveToken | undefined> {
    const hash = tokenHash(secret);
    const [row] = await this.database.db
      .select({ id: apiTokens.id, editorId: apiTokens.editorId, scope: apiTokens.scope })
      .from(apiTokens)
      .where(and(eq(apiTokens.tokenHash, hash), isNull(apiTokens.revokedAt)));
    if (!row) return undefined;
    await this.database.db
      .update(apiTokens)
      .set({ lastUsedAt: sql`now()` })
      .where(
        and(
          eq(apiTokens.id, row.id),
          or(isNull(apiTokens.lastUsedAt), lt(apiTokens.lastUsedAt, sql`now() - interval '1 minute'`)),
        ),
      );
    return row;
  }
}
