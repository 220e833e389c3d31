import { ForbiddenException, HttpException, NotFoundException } from '@nestjs/common';
import { type FieldProblem, toErrorBody } from '../http/api-error.js';
import type { AdminMessages } from '../i18n/admin-messages.js';
import { problemText } from '../i18n/messages.js';

/**
 * A problem as the desk says it, in the publication's language: its code's wording when there is
 * one, else a general word (never the API's English text on a desk page).
 */
export function deskProblem(problem: Partial<FieldProblem>, t: AdminMessages): string {
  return problemText(problem, t) ?? t.problem_invalid;
}

/** Problems keyed by field, for templates: errors.title, errors.body_md… */
export function problemsByField(problems: readonly FieldProblem[], t: AdminMessages): Record<string, string> {
  const byField: Record<string, string> = {};
  for (const problem of problems) {
    const text = deskProblem(problem, t);
    const before = byField[problem.field];
    if (before === undefined) byField[problem.field] = text;
    else if (!before.includes(text)) byField[problem.field] = `${before} ${text}`;
  }
  return byField;
}

/**
 * A service's refusal of a form (a taken slug, a time in the past, an edition no longer editable),
 * as problems by field to show in the form again; anything else is rethrown.
 */
export function formProblems(
  error: unknown,
  t: AdminMessages,
  fallbackField = 'form',
): Record<string, string> {
  if (!(error instanceof HttpException) || error.getStatus() >= 500 || error.getStatus() === 404) throw error;
  const body = toErrorBody(error);
  if (body.details && body.details.length > 0) return problemsByField(body.details, t);
  return { [fallbackField]: body.statusCode === 409 ? t.problem_conflict : t.problem_invalid };
}

/** A refusal the desk words itself, in the publication's language (the owner alone may…). */
export class DeskRefusal extends ForbiddenException {}

/** Something the desk looked for and did not find, said in the publication's language. */
export class DeskMissing extends NotFoundException {}
