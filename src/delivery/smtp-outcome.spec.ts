import { describe, expect, it } from 'vitest';
import { classifySmtpFailure } from './smtp-outcome.js';

describe('classifySmtpFailure', () => {
  it('retries 4xx replies and network errors', () => {
    expect(classifySmtpFailure({ responseCode: 451, response: '451 4.7.1 Try again later' }).kind).toBe(
      'transient',
    );
    expect(
      classifySmtpFailure(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNECTION' })).kind,
    ).toBe('transient');
  });

  it('fails 5xx replies, and calls 5.1.x a hard bounce', () => {
    expect(classifySmtpFailure({ responseCode: 554, response: '554 5.7.1 Rejected as spam' }).kind).toBe(
      'permanent',
    );
    expect(classifySmtpFailure({ responseCode: 550, response: '550 5.1.1 No such user' })).toEqual({
      kind: 'hard-bounce',
      response: '550 5.1.1 No such user',
    });
  });
});
