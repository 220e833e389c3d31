import { describe, expect, it } from 'vitest';
import { classifySmtpFailure, permanentFailureKind } from './smtp-outcome.js';

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

describe('permanentFailureKind', () => {
  it.each([
    ['550 5.1.1 <anne@exemple.fr>: Recipient address rejected: User unknown', '5.1.1', 'hard'],
    ['smtp; 550 5.2.1 The email account that you tried to reach is disabled.', '5.2.1', 'hard'],
    ['smtp; 552 5.2.2 The recipient mailbox is full', '5.2.2', 'soft'],
    ['smtp; 550 5.7.1 Message rejected as spam', '5.7.1', 'soft'],
    // Exim's summary is 5.0.0 whatever the remote said: the remote's own code decides.
    ['smtp; 550 5.1.1 No such user here', '5.0.0', 'hard'],
    ['550 Requested action not taken: mailbox unavailable', '5.0.0', 'hard'],
    ['552 Requested mail action aborted: exceeded storage allocation (quota)', '5.0.0', 'soft'],
    ['554 Delivery refused by policy', '', 'soft'],
  ])('%s (status %s) is a %s bounce', (diagnostic, status, kind) => {
    expect(permanentFailureKind(diagnostic, status)).toBe(kind);
  });
});
