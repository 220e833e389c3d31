/** What an SMTP failure means for the recipient. */
export type FailureKind = 'transient' | 'permanent' | 'hard-bounce';

/**
 * 4xx replies and network errors are worth another try; 5xx replies are final; a 5.1.x status
 * (bad mailbox or domain) is a hard bounce that suppresses the address for good.
 */
export function classifySmtpFailure(error: unknown): { kind: FailureKind; response: string } {
  const details = error as { responseCode?: unknown; response?: unknown; message?: unknown };
  const response = typeof details.response === 'string' ? details.response : String(details.message ?? error);
  const code = typeof details.responseCode === 'number' ? details.responseCode : undefined;
  if (code === undefined || code < 500) return { kind: 'transient', response };
  return { kind: /\b5\.1\.\d+\b/.test(response) ? 'hard-bounce' : 'permanent', response };
}
