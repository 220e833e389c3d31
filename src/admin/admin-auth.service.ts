import { Inject, Injectable } from '@nestjs/common';
import type { AppConfig } from '../config/app-config.js';
import { APP_CONFIG } from '../config/config.module.js';
import type { EditorRow } from '../database/schema.js';
import { EditorsRepository } from '../editors/editors.repository.js';
import {
  decoyHash,
  hashPassword,
  PASSWORD_MAX_LENGTH,
  PASSWORD_MIN_LENGTH,
  verifyPassword,
} from '../editors/passwords.js';
import type { FieldProblem } from '../http/api-error.js';
import { normaliseEmail } from '../mail/email-address.js';
import { RateLimiter } from '../redis/rate-limiter.js';
import { type AdminSession, SessionStore } from './session-store.js';

export interface SetupInput {
  readonly email: string;
  readonly name: string;
  readonly password: string;
  readonly passwordAgain: string;
}

export type SetupOutcome =
  | { readonly kind: 'created'; readonly sessionId: string }
  | { readonly kind: 'invalid'; readonly problems: readonly FieldProblem[] }
  | { readonly kind: 'done-already' };

export type SignInOutcome =
  | { readonly kind: 'signed-in'; readonly sessionId: string; readonly session: AdminSession }
  | { readonly kind: 'refused' }
  | { readonly kind: 'throttled'; readonly retryAfterSeconds: number };

// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/;

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

  async setup(input: SetupInput): Promise<SetupOutcome> {
    if (!(await this.needsSetup())) return { kind: 'done-already' };
    const problems: FieldProblem[] = [];
    const address = normaliseEmail(input.email);
    if (!address.ok) problems.push({ field: 'email', message: address.reason });
    const name = input.name.trim();
    if (name.length > 100 || CONTROL.test(name)) {
      problems.push({ field: 'name', message: 'must be one line of at most 100 characters' });
    }
    if (input.password.length < PASSWORD_MIN_LENGTH || input.password.length > PASSWORD_MAX_LENGTH) {
      problems.push({
        field: 'password',
        message: `must be ${PASSWORD_MIN_LENGTH} to ${PASSWORD_MAX_LENGTH} characters long`,
      });
    } else if (input.password !== input.passwordAgain) {
      problems.push({ field: 'password_again', message: 'does not match the password' });
    }
    if (problems.length > 0 || !address.ok) return { kind: 'invalid', problems };
    const owner = await this.editors.createOwner({
      email: address.email,
      name,
      passwordHash: await hashPassword(input.password),
    });
    if (!owner) return { kind: 'done-already' };
    const { id } = await this.sessions.create(owner.id);
    return { kind: 'created', sessionId: id };
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
    await this.editors.recordSignIn(editor.id);
    const { id, session } = await this.sessions.create(editor.id);
    return { kind: 'signed-in', sessionId: id, session };
  }

  async signOut(sessionId: string): Promise<void> {
    await this.sessions.destroy(sessionId);
  }

  /** The signed-in editor, or undefined when the session is gone or its editor was deleted. */
  async editorOf(session: AdminSession): Promise<EditorRow | undefined> {
    return this.editors.byId(session.editorId);
  }
}
