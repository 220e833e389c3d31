import { STATUS_CODES } from 'node:http';
import { BadRequestException, ConflictException, HttpException, HttpStatus } from '@nestjs/common';
import type { ValidationError } from 'class-validator';

export interface FieldProblem {
  readonly field: string;
  /** What is wrong, in English, for the API's users. */
  readonly message: string;
  /**
   * What is wrong as a code ("email", "maxLength", "taken"…), for pages to say in the publication's
   * language; `limit` is the number the rule names (a length, a count), when it names one.
   */
  readonly code?: string;
  readonly limit?: number;
  /** What the problem names, as typed (unknown column names…), for translations to quote. */
  readonly detail?: string;
}

/** The JSON body of every API error. */
export interface ApiErrorBody {
  readonly statusCode: number;
  readonly error: string;
  readonly message: string;
  readonly details?: readonly FieldProblem[];
}

/** An error body whose message alone already says what is wrong where, and whose details name the fields. */
function fieldErrorBody(statusCode: number, error: string, problems: readonly FieldProblem[]): ApiErrorBody {
  return {
    statusCode,
    error,
    message: problems.map((p) => `${p.field}: ${p.message}`).join('; '),
    details: problems,
  };
}

/** A 400 naming the fields at fault. */
export class InvalidInputException extends BadRequestException {
  constructor(readonly problems: readonly FieldProblem[]) {
    super(fieldErrorBody(HttpStatus.BAD_REQUEST, 'Bad Request', problems));
  }

  static field(field: string, message: string, code?: string, detail?: string): InvalidInputException {
    return new InvalidInputException([
      { field, message, ...(code ? { code } : {}), ...(detail ? { detail } : {}) },
    ]);
  }
}

/** A 409: the input is well-formed but clashes with what is stored (a taken slug, a known address). */
export class FieldConflictException extends ConflictException {
  constructor(field: string, message: string, code = 'taken') {
    super(fieldErrorBody(HttpStatus.CONFLICT, 'Conflict', [{ field, message, code }]));
  }
}

/** Rules whose message names a number (a length, a count): it is kept apart for translations. */
const RULES_WITH_LIMIT = new Set(['maxLength', 'minLength', 'arrayMaxSize', 'arrayMinSize', 'max', 'min']);

function flatten(errors: readonly ValidationError[], prefix: string): FieldProblem[] {
  return errors.flatMap((error) => {
    const field = prefix ? `${prefix}.${error.property}` : error.property;
    const own = Object.entries(error.constraints ?? {}).map(([rule, text]) => {
      const limit = RULES_WITH_LIMIT.has(rule) ? /\d+/.exec(text)?.[0] : undefined;
      return {
        field,
        // class-validator says "property x should not exist" for a field the DTO does not declare.
        message: rule === 'whitelistValidation' ? 'is not a known field' : text.replace(/^\S+\s/, ''),
        code: rule,
        ...(limit === undefined ? {} : { limit: Number(limit) }),
      };
    });
    return [...own, ...flatten(error.children ?? [], field)];
  });
}

/** exceptionFactory for ValidationPipe: one problem per field and rule, named by field path. */
export function validationException(errors: ValidationError[]): InvalidInputException {
  const problems = flatten(errors, '');
  return new InvalidInputException(
    problems.length > 0 ? problems : [{ field: 'body', message: 'is invalid' }],
  );
}

function statusText(status: number): string {
  return STATUS_CODES[status] ?? 'Error';
}

/** Turns anything thrown into the one error body; unknown errors become a 500 that reveals nothing. */
export function toErrorBody(exception: unknown): ApiErrorBody {
  if (exception instanceof HttpException) {
    const status = exception.getStatus();
    const response = exception.getResponse();
    if (typeof response === 'string')
      return { statusCode: status, error: statusText(status), message: response };
    const body = response as { message?: unknown; error?: unknown; details?: FieldProblem[] };
    const message = Array.isArray(body.message)
      ? body.message.join('; ')
      : typeof body.message === 'string'
        ? body.message
        : statusText(status);
    return {
      statusCode: status,
      error: typeof body.error === 'string' ? body.error : statusText(status),
      message,
      ...(body.details ? { details: body.details } : {}),
    };
  }
  // Fastify's own errors (bad JSON, body too large, wrong content type) carry a 4xx statusCode.
  const status = (exception as { statusCode?: unknown } | null)?.statusCode;
  if (typeof status === 'number' && status >= 400 && status < 500 && exception instanceof Error) {
    return { statusCode: status, error: statusText(status), message: exception.message };
  }
  return { statusCode: 500, error: statusText(500), message: 'Internal server error' };
}
