import { Inject, Injectable } from '@nestjs/common';
import type { AppConfig } from '../config/app-config.js';
import { APP_CONFIG } from '../config/config.module.js';
import type { EditorRow } from '../database/schema.js';
import { EditorsRepository } from '../editors/editors.repository.js';
import { decoyHash, hashPassword, PASSWORD_MAX_LENGTH, verifyPassword } from '../editors/passwords.js';
import type { FieldProblem } from '../http/api-error.js';
import { RateLimiter } from '../redis/rate-limiter.js';
import { type AccountInput, checkAccount, passwordProblems } from '../desk-accounts/account-input.js';
import { type AdminSession, SessionStore } from './session-store.js';

export type SetupOutcome =
  | { readonly kind: 'created'; readonly sessionId: string }
  | { readonly kind: 'invalid'; readonly problems: readonly FieldProblem[] }
  | { readonly kind: 'done-already' };

export type AddEditorOutcome =
  | { readonly kind: 'created'; readonly editor: EditorRow }
  | { readonly kind: 'invalid'; readonly problems: readonly FieldProblem[] }
  | { readonly kind: 'forbidden' };

export type SignInOutcome =
  | { readonly kind: 'signed-in'; readonly sessionId: string; readonly session: AdminSession }
  | { readonly kind: 'refused' }
  | { readonly kind: 'throttled'; readonly retryAfterSeconds: number };

/** Sign-in, sign-out and the first-run setup of the editor's desk. */
@Injectable()
export class AdminAuthService {
  constructor(
    @Inject(EditorsRepository) private readonly editors: EditorsRepository,
    @Inject(SessionStore) private readonly sessions: SessionStore,
    @Inject(RateLimiter) private readonly rateLimiter: RateLimiter,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  async needsSetup(): Promise<boolean> {
    return !(await this.editors.any());
  }

  async setup(input: AccountInput): Promise<SetupOutcome> {
    if (!(await this.needsSetup())) return { kind: 'done-already' };
    const account = checkAccount(input);
    if (!account.ok) return { kind: 'invalid', problems: account.problems };
    const owner = await this.editors.createOwner({
      email: account.email,
      name: account.name,
      passwordHash: await hashPassword(account.password),
    });
    if (!owner) return { kind: 'done-already' };
    const { id } = await this.startSession(owner.id);
    return { kind: 'created', sessionId: id };
  }

  /**
   * A session for an editor who has just proved who they are (setup, sign-in, a mailed link
   * used): each counts as a sign-in.
   */
  async startSession(editorId: string): Promise<{ id: string; session: AdminSession }> {
    await this.editors.recordSignIn(editorId);
    return this.sessions.create(editorId);
  }

  /**
   * Counts every attempt against the client address and against the account, so that neither one
   * machine guessing many accounts nor many machines guessing one account gets far. An unknown
   * address costs the same argon2 work as a known one, so timing tells nobody who has an account.
   */
  async signIn(email: string, password: string, ip: string): Promise<SignInOutcome> {
    const limit = this.config.signInRateLimit;
    const account = email.trim().toLowerCase().slice(0, 254);
    const [byClient, byAccount] = await Promise.all([
      this.rateLimiter.hit('sign-in-ip', ip, limit),
      this.rateLimiter.hit('sign-in-account', account, limit),
    ]);
    if (!byClient.allowed || !byAccount.allowed) {
      return {
        kind: 'throttled',
        retryAfterSeconds: Math.max(
          byClient.allowed ? 0 : byClient.retryAfterSeconds,
          byAccount.allowed ? 0 : byAccount.retryAfterSeconds,
        ),
      };
    }
    const editor = account === '' ? undefined : await this.editors.byEmail(account);
    const passwordOk =
      password.length <= PASSWORD_MAX_LENGTH &&
      (await verifyPassword(editor?.passwordHash ?? (await decoyHash()), password));
    if (!editor || !passwordOk) return { kind: 'refused' };
    const { id, session } = await this.startSession(editor.id);
    return { kind: 'signed-in', sessionId: id, session };
  }

  async signOut(sessionId: string): Promise<void> {
    await this.sessions.destroy(sessionId);
  }

  /**
   * The live session behind a cookie and its editor, or undefined. A session whose editor was
   * removed, or which began before the editor's last password change, is over, and is deleted.
   * Every door of the desk asks this one question: its pages, its sign-in page and the queue board.
   */
  async resolve(
    sessionId: string | undefined,
  ): Promise<{ session: AdminSession; editor: EditorRow } | undefined> {
    if (sessionId === undefined) return undefined;
    const session = await this.sessions.get(sessionId);
    if (!session) return undefined;
    const editor = await this.editors.byId(session.editorId);
    if (editor && session.createdAt >= editor.passwordChangedAt.getTime()) return { session, editor };
    await this.sessions.destroy(sessionId);
    return undefined;
  }

  /** Another editor, made by the owner. */
  async addEditor(actor: EditorRow, input: AccountInput): Promise<AddEditorOutcome> {
    if (actor.role !== 'owner') return { kind: 'forbidden' };
    const account = checkAccount(input);
    if (!account.ok) return { kind: 'invalid', problems: account.problems };
    const editor = await this.editors.create({
      email: account.email,
      name: account.name,
      passwordHash: await hashPassword(account.password),
    });
    if (!editor)
      return {
        kind: 'invalid',
        problems: [
          { field: 'email', message: `${account.email} already has an account`, code: 'account-taken' },
        ],
      };
    return { kind: 'created', editor };
  }

  /** The owner removes an editor: their sessions end with them, their tokens are deleted. */
  async removeEditor(actor: EditorRow, id: string): Promise<'removed' | 'forbidden' | 'not-found'> {
    if (actor.role !== 'owner') return 'forbidden';
    return (await this.editors.deleteEditor(id)) ? 'removed' : 'not-found';
  }

  /**
   * A new password for the signed-in editor, who must give the current one. Every session,
   * this one included, ends; the caller gets a new session for this browser.
   */
  async changePassword(
    editor: EditorRow,
    current: string,
    next: string,
    again: string,
  ): Promise<
    { kind: 'changed'; sessionId: string } | { kind: 'invalid'; problems: readonly FieldProblem[] }
  > {
    if (current.length > PASSWORD_MAX_LENGTH || !(await verifyPassword(editor.passwordHash, current))) {
      return {
        kind: 'invalid',
        problems: [
          { field: 'current_password', message: 'is not your current password', code: 'current-password' },
        ],
      };
    }
    const problems = passwordProblems(next, again);
    if (problems.length > 0) return { kind: 'invalid', problems };
    const changedAt = new Date();
    await this.editors.setPassword(editor.id, await hashPassword(next), changedAt);
    const { id } = await this.sessions.create(editor.id);
    return { kind: 'changed', sessionId: id };
  }
}
