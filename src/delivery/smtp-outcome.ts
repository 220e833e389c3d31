/** What an SMTP failure means for the recipient. */
export type FailureKind = 'transient' | 'permanent' | 'hard-bounce';

/** Whose fault a permanent failure is: the address's (hard) or this message's (soft). */
export type BounceKind = 'hard' | 'soft';

/** Words of a failure that is about the message, the sender or a full mailbox, not the address. */
const NOT_THE_ADDRESS =
  /quota|mailbox (is )?full|over ?quota|insufficient (disk )?space|too (large|big)|size limit|spam|blocked|block ?list|blacklist|policy|reputation|rate limit|too many|dmarc|spf|dkim|content|virus/i;

/**
 * The one rule for a permanent failure, whether the receiving server said it during the SMTP
 * transaction or later in a delivery status notification. A hard bounce suppresses the address for
 * good: a bad address or domain (5.1.x), a disabled mailbox (5.2.1), or a bare refusal with no
 * reason given. A full mailbox (5.2.2), a message too big (5.3.4), and refusals for policy, spam or
 * authentication (5.7.x) say nothing against the address: soft, counted edition after edition.
 * The enhanced code in the server's own words wins over the reporting MTA's summary (Exim reports
 * 5.0.0 for whatever the remote server said).
 */
export function permanentFailureKind(diagnostic: string, status = ''): BounceKind {
  const codes = [diagnostic, status].map((text) => /\b5\.(\d{1,3})\.(\d{1,3})\b/.exec(text));
  const code = codes.find((match) => match !== null && match[0] !== '5.0.0');
  if (code) {
    const [subject, detail] = [Number(code[1]), Number(code[2])];
    if (subject === 1) return 'hard';
    if (subject === 2) return detail === 2 ? 'soft' : 'hard';
    return 'soft';
  }
  return NOT_THE_ADDRESS.test(diagnostic) ? 'soft' : 'hard';
}

/**
 * 4xx replies and network errors are worth another try; 5xx replies are final, and a hard bounce
 * (see permanentFailureKind) suppresses the address for good.
 */
export function classifySmtpFailure(error: unknown): { kind: FailureKind; response: string } {
  const details = error as { responseCode?: unknown; response?: unknown; message?: unknown };
  const response = typeof details.response === 'string' ? details.response : String(details.message ?? error);
  const code = typeof details.responseCode === 'number' ? details.responseCode : undefined;
  if (code === undefined || code < 500) return { kind: 'transient', response };
  return { kind: permanentFailureKind(response) === 'hard' ? 'hard-bounce' : 'permanent', response };
}
