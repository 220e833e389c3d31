import { PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH } from '../editors/passwords.js';
import type { FieldProblem } from '../http/api-error.js';
import { isSingleLine } from '../lib/single-line.js';
import { normaliseEmail } from '../lib/email-address.js';

export interface AccountInput {
  readonly email: string;
  readonly name: string;
  readonly password: string;
  readonly passwordAgain: string;
}

export type AccountCheck =
  | { readonly ok: true; readonly email: string; readonly name: string; readonly password: string }
  | { readonly ok: false; readonly problems: readonly FieldProblem[] };

/** A new password: long enough, not absurdly long, typed the same twice. */
export function passwordProblems(password: string, again: string, field = 'password'): FieldProblem[] {
  if (password.length < PASSWORD_MIN_LENGTH || password.length > PASSWORD_MAX_LENGTH) {
    return [
      {
        field,
        message: `must be ${PASSWORD_MIN_LENGTH} to ${PASSWORD_MAX_LENGTH} characters long`,
        code: 'password-length',
        limit: PASSWORD_MIN_LENGTH,
      },
    ];
  }
  return password === again
    ? []
    : [{ field: `${field}_again`, message: 'does not match the password', code: 'password-again' }];
}

/** The fields of a new editor account, from the setup form or the team page. */
export function checkAccount(input: AccountInput): AccountCheck {
  const problems: FieldProblem[] = [];
  const address = normaliseEmail(input.email);
  if (!address.ok) problems.push({ field: 'email', message: address.reason, code: address.code });
  const name = input.name.trim();
  if (name.length > 100 || !isSingleLine(name)) {
    problems.push({ field: 'name', message: 'must be one line of at most 100 characters', code: 'name' });
  }
  problems.push(...passwordProblems(input.password, input.passwordAgain));
  if (problems.length > 0 || !address.ok) return { ok: false, problems };
  return { ok: true, email: address.email, name, password: input.password };
}
