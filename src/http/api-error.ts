import { BadRequestException, ConflictException, HttpStatus } from '@nestjs/common';
import type { ValidationError } from 'class-validator';

export interface FieldProblem {
  readonly field: string;
  readonly message: string;
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

  static field(field: string, message: string): InvalidInputException {
    return new InvalidInputException([{ field, message }]);
  }
}

/** A 409: the input is well-formed but clashes with what is stored (a taken slug, a known address). */
export class FieldConflictException extends ConflictException {
  constructor(field: string, message: string) {
    super(fieldErrorBody(HttpStatus.CONFLICT, 'Conflict', [{ field, message }]));
  }
}

function flatten(errors: readonly ValidationError[], prefix: string): FieldProblem[] {
  return errors.flatMap((error) => {
    const field = prefix ? `${prefix}.${error.property}` : error.property;
    const own = Object.entries(error.constraints ?? {}).map(([rule, text]) => ({
      field,
      // class-validator says "property x should not exist" for a field the DTO does not declare.
      message: rule === 'whitelistValidation' ? 'is not a known field' : text.replace(/^\S+\s/, ''),
    }));
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
