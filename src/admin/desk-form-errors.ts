import { HttpException } from '@nestjs/common';
import { toErrorBody } from '../http/api-error.js';

/**
 * A service's refusal of a form (a taken slug, a time in the past, an edition no longer editable),
 * as problems by field to show in the form again; anything else is rethrown.
 */
export function formProblems(error: unknown, fallbackField = 'form'): Record<string, string> {
  if (!(error instanceof HttpException) || error.getStatus() >= 500 || error.getStatus() === 404) throw error;
  const body = toErrorBody(error);
  if (body.details && body.details.length > 0) {
    return Object.fromEntries(body.details.map((problem) => [problem.field, problem.message]));
  }
  return { [fallbackField]: body.message };
}
