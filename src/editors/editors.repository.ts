import { Inject, Injectable } from '@nestjs/common';
import { and, eq, sql } from 'drizzle-orm';
import { DatabaseClient } from '../database/database-client.js';
import { type EditorRole, type EditorRow, editors } from '../database/schema.js';

export interface NewEditor {
  readonly email: string;
  readonly name: string;
  readonly passwordHash: string;
  readonly role: EditorRole;
}

@Injectable()
export class EditorsRepository {
  constructor(@Inject(DatabaseClient) private readonly database: DatabaseClient) {}

  async any(): Promise<boolean> {
    const [row] = await this.database.db.select({ id: editors.id }).from(editors).limit(1);
    return row !== undefined;
  }

  async byId(id: string): Promise<EditorRow | undefined> {
    const [row] = await this.database.db.select().from(editors).where(eq(editors.id, id));
    return row;
  }

  async byEmail(email: string): Promise<EditorRow | undefined> {
    const [row] = await this.database.db
      .select()
      .from(editors)
      .where(sql`lower(${editors.email}) = lower(${email})`);
    return row;
  }

  /** The first editor, as owner; undefined when there is one already (a setup raced this one). */
  async createOwner(editor: Omit<NewEditor, 'role'>): Promise<EditorRow | undefined> {
    return this.database.db.transaction(async (tx) => {
      // Serialises first-run setups: the second finds the first's owner and gives up.
      await tx.execute(sql`lock table ${editors} in share row exclusive mode`);
      const [existing] = await tx.select({ id: editors.id }).from(editors).limit(1);
      if (existing) return undefined;
      const [row] = await tx
        .insert(editors)
        .values({ ...editor, role: 'owner', passwordChangedAt: new Date() })
        .returning();
      return row;
    });
  }

  list(): Promise<EditorRow[]> {
    return this.database.db.select().from(editors).orderBy(editors.createdAt);
  }

  /** A new editor; undefined when the address already has an account. */
  async create(editor: Omit<NewEditor, 'role'>): Promise<EditorRow | undefined> {
    const [row] = await this.database.db
      .insert(editors)
      .values({ ...editor, role: 'editor', passwordChangedAt: new Date() })
      .onConflictDoNothing()
      .returning();
    return row;
  }

  /** Removes an editor who is not the owner; their tokens go with them. */
  async deleteEditor(id: string): Promise<boolean> {
    const rows = await this.database.db
      .delete(editors)
      .where(and(eq(editors.id, id), eq(editors.role, 'editor')))
      .returning({ id: editors.id });
    return rows.length > 0;
  }

  /** The time stamped is the application's clock, the one sessions are stamped with. */
  async setPassword(id: string, passwordHash: string, changedAt: Date): Promise<void> {
    await this.database.db
      .update(editors)
      .set({ passwordHash, passwordChangedAt: changedAt, updatedAt: sql`now()` })
      .where(eq(editors.id, id));
  }

  async recordSignIn(id: string): Promise<void> {
    await this.database.db
      .update(editors)
      .set({ lastSignInAt: sql`now()` })
      .where(eq(editors.id, id));
  }
}
