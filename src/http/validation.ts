import { ParseUUIDPipe, ValidationPipe } from '@nestjs/common';
import { ValidateBy, type ValidationOptions } from 'class-validator';
import { isSingleLine } from '../lib/single-line.js';
import { InvalidInputException, validationException } from './api-error.js';

/** Unknown fields are refused rather than dropped, so a typo never passes silently. */
export function createValidationPipe(): ValidationPipe {
  return new ValidationPipe({
    whitelist: true,
    forbidNonWhitelisted: true,
    forbidUnknownValues: true,
    transform: true,
    transformOptions: { enableImplicitConversion: false },
    validationError: { target: false, value: false },
    exceptionFactory: validationException,
  });
}

/** For one-line values that end up in headers, titles and subjects: no CR, LF or other controls. */
export function IsSingleLine(options?: ValidationOptions): PropertyDecorator {
  return ValidateBy(
    {
      name: 'isSingleLine',
      validator: {
        validate: (value: unknown) => typeof value === 'string' && isSingleLine(value),
        defaultMessage: () => '$property must be one line without control characters',
      },
    },
    options,
  );
}

/** Non-blank after trimming: "   " is no title. */
export function IsNotBlank(options?: ValidationOptions): PropertyDecorator {
  return ValidateBy(
    {
      name: 'isNotBlank',
      validator: {
        validate: (value: unknown) => typeof value === 'string' && value.trim().length > 0,
        defaultMessage: () => '$property must not be empty',
      },
    },
    options,
  );
}

/** A route's :id, which must be a UUID (v4, as the database makes them); else a 400 naming `id`. */
export function uuidParam(what: string): ParseUUIDPipe {
  return new ParseUUIDPipe({
    version: '4',
    exceptionFactory: () => InvalidInputException.field('id', `must be ${what} id (a UUID)`),
  });
}
