import { Inject, Injectable, Logger } from '@nestjs/common';
import { Redis } from 'ioredis';
import type { AppConfig } from '../config/app-config.js';
import { APP_CONFIG } from '../config/config.module.js';
import type { EditorRow } from '../database/schema.js';
import { EditorsRepository } from '../editors/editors.repository.js';
import { hashPassword } from '../editors/passwords.js';
import type { FieldProblem } from '../http/api-error.js';
import { fill, messagesFor } from '../i18n/messages.js';
import { normaliseEmail } from '../lib/email-address.js';
import { isSingleLine } from '../lib/single-line.js';
import { TransactionalMailer } from '../mail/transactional-mailer.js';
import { DeskQueue } from '../queue/desk.queue.js';
import type { DeskJobs } from '../queue/jobs.js';
import { HashedTokens } from '../redis/hashed-tokens.js';
import { type RateDecision, RateLimiter } from '../redis/rate-limiter.js';
import { PublicationSettings } from '../settings/publication-settings.js';
import { checkAccount, passwordProblems } from './account-input.js';

/** An invitation lasts a week: long enough for a holiday, short enough that a forgotten one dies. */
export const INVITATION_SECONDS = 7 * 24 * 3600;
/** A reset link lasts an hour and works once. */
export const RESET_SECONDS = 3600;

/** Someone the owner invited to the desk, who has not made their account yet. */
export interface Invitation {
  readonly email: string;
  readonly name: string;
  readonly invitedBy: string;
  /** Epoch milliseconds. */
  readonly invitedAt: number;
}

/** What a mailed link stands for: an invitation to make an account, or a password to reset. */
type DeskLink =
  | { readonly kind: 'invitation'; readonly email: string }
  | { readonly kind: 'reset'; readonly editorId: string; readonly passwordChangedAt: number };

export type InviteOutcome =
  { readonly kind: 'invited' } | { readonly kind: 'invalid'; readonly problems: readonly FieldProblem[] };

export type LinkOutcome =
  | { readonly kind: 'done'; readonly editor: EditorRow }
  | { readonly kind: 'invalid'; readonly problems: readonly FieldProblem[] }
  | { readonly kind: 'gone' };

/**
 * Editors' accounts by email: the owner invites someone, who makes their own account from the
 * mailed link; an editor who forgot their password gets a link to choose another. Links are
 * made in the worker, when the email is written, and Redis keeps only their hash; the answer to
 * a reset request is the same whether or not the address has an account.
 */
@Injectable()
export class DeskAccounts {
  private readonly logger = new Logger('DeskAccounts');
  private readonly invitationLinks: HashedTokens<DeskLink>;
  private readonly resetLinks: HashedTokens<DeskLink>;
  /** Invitations waiting, by address: what the team page lists. */
  private readonly pendingKey: string;

  constructor(
    @Inject(EditorsRepository) private readonly editors: EditorsRepository,
    @Inject(DeskQueue) private readonly queue: DeskQueue,
    @Inject(TransactionalMailer) private readonly mailer: TransactionalMailer,
    @Inject(PublicationSettings) private readonly publication: PublicationSettings,
    @Inject(RateLimiter) private readonly rateLimiter: RateLimiter,
    @Inject(Redis) private readonly redis: Redis,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {
    this.invitationLinks = new HashedTokens(
      redis,
      `${config.queuePrefix}:desk-invitation`,
      INVITATION_SECONDS,
    );
    this.resetLinks = new HashedTokens(redis, `${config.queuePrefix}:desk-reset`, RESET_SECONDS);
    this.pendingKey = `${config.queuePrefix}:desk-invitations`;
  }

  /** The owner invites someone by name and address; an address with an account is refused. */
  async invite(inviter: EditorRow, input: { email: string; name: string }): Promise<InviteOutcome> {
    const problems: FieldProblem[] = [];
    const address = normaliseEmail(input.email);
    if (!address.ok) problems.push({ field: 'email', message: address.reason, code: address.code });
    const name = input.name.trim();
    if (name.length > 100 || !isSingleLine(name))
      problems.push({ field: 'name', message: 'must be one line of at most 100 characters', code: 'name' });
    if (!address.ok || problems.length > 0) return { kind: 'invalid', problems };
    if (await this.editors.byEmail(address.email))
      return {
        kind: 'invalid',
        problems: [
          { field: 'email', message: `${address.email} already has an account`, code: 'account-taken' },
        ],
      };
    const invitation: Invitation = {
      email: address.email,
      name,
      invitedBy: inviter.name || inviter.email,
      invitedAt: Date.now(),
    };
    await this.redis.hset(this.pendingKey, address.email.toLowerCase(), JSON.stringify(invitation));
    await this.queue.add('editor-invitation', { email: address.email });
    return { kind: 'invited' };
  }

  /** Invitations still waiting, newest first; those past their week are dropped. */
  async pending(): Promise<Invitation[]> {
    const stored = await this.redis.hgetall(this.pendingKey);
    const live: Invitation[] = [];
    for (const [key, raw] of Object.entries(stored)) {
      const invitation = JSON.parse(raw) as Invitation;
      if (Date.now() - invitation.invitedAt < INVITATION_SECONDS * 1000) live.push(invitation);
      else await this.redis.hdel(this.pendingKey, key);
    }
    return live.sort((a, b) => b.invitedAt - a.invitedAt);
  }

  /** The owner withdraws an invitation: its link stops working. */
  async withdraw(email: string): Promise<boolean> {
    return (await this.redis.hdel(this.pendingKey, email.trim().toLowerCase())) === 1;
  }

  private async invitation(email: string): Promise<Invitation | undefined> {
    const raw = await this.redis.hget(this.pendingKey, email.toLowerCase());
    const invitation = raw === null ? undefined : (JSON.parse(raw) as Invitation);
    return invitation && Date.now() - invitation.invitedAt < INVITATION_SECONDS * 1000
      ? invitation
      : undefined;
  }

  /** Worker side: the invitation's email, with a link made now. */
  async sendInvitation({ email }: DeskJobs['editor-invitation']): Promise<void> {
    const invitation = await this.invitation(email);
    if (!invitation || (await this.editors.byEmail(email))) return;
    const { token } = await this.invitationLinks.issue({ kind: 'invitation', email });
    const publication = this.publication.current();
    const t = messagesFor(publication.locale);
    await this.mailer.send(
      'member-notice',
      { email, name: invitation.name },
      {
        subject: fill(t.editorInviteSubject, { publication: publication.name }),
        preheader: fill(t.editorInviteText, { inviter: invitation.invitedBy, publication: publication.name }),
        text: fill(t.editorInviteText, { inviter: invitation.invitedBy, publication: publication.name }),
        buttonUrl: `${this.config.publicUrl}/admin/invitation/${token}`,
        buttonLabel: t.editorInviteButton,
      },
    );
  }

  /** The invitation a link stands for, while it holds. */
  async openInvitation(token: string): Promise<Invitation | undefined> {
    const link = await this.invitationLinks.peek(token);
    if (link?.kind !== 'invitation') return undefined;
    return this.invitation(link.email);
  }

  /** The invitee makes their account: name and password; the link works once. */
  async acceptInvitation(
    token: string,
    input: { name: string; password: string; passwordAgain: string },
  ): Promise<LinkOutcome> {
    const invitation = await this.openInvitation(token);
    if (!invitation) return { kind: 'gone' };
    const account = checkAccount({ email: invitation.email, ...input });
    if (!account.ok) return { kind: 'invalid', problems: account.problems };
    const link = await this.invitationLinks.take(token);
    if (link?.kind !== 'invitation') return { kind: 'gone' };
    await this.redis.hdel(this.pendingKey, invitation.email.toLowerCase());
    const editor = await this.editors.create({
      email: account.email,
      name: account.name,
      passwordHash: await hashPassword(account.password),
    });
    if (!editor) return { kind: 'gone' };
    this.logger.log({ editorId: editor.id }, 'An invited editor made their account');
    return { kind: 'done', editor };
  }

  /**
   * Someone asks for a reset link. Limited per client and per address like a sign-in; the link is
   * made and mailed in the worker, so the answer says nothing about the address.
   */
  async requestReset(email: string, ip: string): Promise<RateDecision> {
    const account = email.trim().toLowerCase().slice(0, 254);
    const limit = this.config.signInRateLimit;
    const byClient = await this.rateLimiter.hit('reset-ip', ip, limit);
    if (!byClient.allowed) return byClient;
    const byAccount = await this.rateLimiter.hit('reset-account', account, limit);
    if (!byAccount.allowed) return byAccount;
    if (normaliseEmail(account).ok) await this.queue.add('password-reset', { email: account });
    return byAccount;
  }

  /** Worker side: a reset link to an editor's address, or nothing when it has no account. */
  async sendReset({ email }: DeskJobs['password-reset']): Promise<void> {
    const editor = await this.editors.byEmail(email);
    if (!editor) return;
    const { token } = await this.resetLinks.issue({
      kind: 'reset',
      editorId: editor.id,
      passwordChangedAt: editor.passwordChangedAt.getTime(),
    });
    const t = messagesFor(this.publication.current().locale);
    await this.mailer.send(
      'member-notice',
      { email: editor.email, name: editor.name },
      {
        subject: t.editorResetSubject,
        preheader: t.editorResetText,
        text: t.editorResetText,
        buttonUrl: `${this.config.publicUrl}/admin/reset-password/${token}`,
        buttonLabel: t.editorResetButton,
      },
    );
  }

  /** The editor a reset link stands for, while it holds: one use, and never after another change. */
  async openReset(token: string): Promise<EditorRow | undefined> {
    const link = await this.resetLinks.peek(token);
    if (link?.kind !== 'reset') return undefined;
    const editor = await this.editors.byId(link.editorId);
    return editor && editor.passwordChangedAt.getTime() === link.passwordChangedAt ? editor : undefined;
  }

  /** A new password from a reset link: every session of the editor ends. */
  async reset(token: string, password: string, again: string): Promise<LinkOutcome> {
    const editor = await this.openReset(token);
    if (!editor) return { kind: 'gone' };
    const problems = passwordProblems(password, again);
    if (problems.length > 0) return { kind: 'invalid', problems };
    if ((await this.resetLinks.take(token))?.kind !== 'reset') return { kind: 'gone' };
    const changedAt = new Date();
    await this.editors.setPassword(editor.id, await hashPassword(password), changedAt);
    this.logger.log({ editorId: editor.id }, 'An editor reset their password by email');
    return { kind: 'done', editor: { ...editor, passwordChangedAt: changedAt } };
  }
}
