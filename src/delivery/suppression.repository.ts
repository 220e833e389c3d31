import { Inject, Injectable } from '@nestjs/common';
import { eq, sql } from 'drizzle-orm';
import { DatabaseClient } from '../database/database-client.js';
import { subscribers, suppressions } from '../database/schema.js';
import { addressHash } from '../mail/email-address.js';

/** What a hard bounce does: the subscriber is marked bounced and the address never mailed again. */
@Injectable()
export class SuppressionRepository {
  constructor(@Inject(DatabaseClient) private readonly database: DatabaseClient) {}

  async bounce(subscriberId: string): Promise<void> {
    await this.database.db.transaction(async (tx) => {
      const [row] = await tx
        .update(subscribers)
        .set({ status: 'bounced', updatedAt: sql`now()` })
        .where(eq(subscribers.id, subscriberId))
        .returning({ email: subscribers.email });
      if (row) {
        await tx
          .insert(suppressions)
          .values({ addressHash: addressHash(row.email), reason: 'hard-bounce' })
          .onConflictDoNothing();
      }
    });
  }
}
