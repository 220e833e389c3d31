import type { FastifyRequest } from 'fastify';
import type { FieldProblem } from '../http/api-error.js';
import { InvalidInputException } from '../http/api-error.js';
import { createValidationPipe } from '../http/validation.js';

// The desk's forms read their fields, and answer, as the public forms do.
export { many, one } from '../http/form-values.js';
export { seeOther, sendHtml } from '../http/html-replies.js';

export function isHtmx(request: FastifyRequest): boolean {
  return request.headers['hx-request'] === 'true';
}

/** Only paths inside the desk: a `next` parameter must not send anyone to another site. */
export function deskPath(next: unknown, fallback = '/admin'): string {
  // Printable ASCII only: what the desk puts there is URL-encoded, and a line break in a Location
  // header would be an error rather than a redirect.
  return typeof next === 'string' && /^\/admin(?:[/?#][\x21-\x7e]*)?$/.test(next) ? next : fallback;
}

const pipe = createValidationPipe();

export type FormCheck<T> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly problems: readonly FieldProblem[] };

/**
 * Checks a form against the same DTO the JSON API uses, so the desk and the API accept exactly the
 * same things; the problems come back to show beside the fields.
 */
export async function checkForm<T extends object>(
  metatype: new () => T,
  value: object,
): Promise<FormCheck<T>> {
  try {
    const checked = (await pipe.transform(value, { type: 'body', metatype })) as T;
    return { ok: true, value: checked };
  } catch (error) {
    if (error instanceof InvalidInputException) return { ok: false, problems: error.problems };
    throw error;
  }
}
