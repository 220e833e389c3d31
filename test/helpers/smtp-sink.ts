import { type AddressInfo } from 'node:net';
import { type ParsedMail, simpleParser } from 'mailparser';
import { SMTPServer } from 'smtp-server';
import { PATIENCE_MS } from './patience.js';

export interface ReceivedMail {
  readonly envelopeFrom: string;
  readonly envelopeTo: readonly string[];
  readonly raw: Buffer;
  /** MAIL FROM's BODY parameter (RFC 6152), when the client gave one. */
  readonly envelopeBody: string | undefined;
  readonly parsed: ParsedMail;
  /** Date.now() when the server accepted it. */
  readonly receivedAt: number;
}

export interface SmtpSink {
  readonly url: string;
  readonly messages: ReceivedMail[];
  /** Every RCPT TO the server was given, with Date.now() when it came. */
  readonly recipients: { readonly address: string; readonly at: number }[];
  /** Messages whose envelope includes `address` (case-insensitive). */
  to(address: string): ReceivedMail[];
  /** Waits until `count` messages went to `address`, and returns them. */
  waitFor(address: string, count?: number, timeoutMs?: number): Promise<ReceivedMail[]>;
  close(): Promise<void>;
}

export interface SinkOptions {
  /** An SMTP error for this recipient (its n-th attempt, from 1), or undefined to accept it. */
  readonly rejectRecipient?: (
    address: string,
    attempt: number,
  ) => { code: number; message: string } | undefined;
  /** How long the server takes to accept each message. */
  readonly delayMs?: number;
  /** Runs before each RCPT TO is answered: the client waits for it. */
  readonly onRecipient?: (address: string) => Promise<void>;
  /** true: a server that does not announce 8BITMIME in its EHLO reply. */
  readonly hide8BitMime?: boolean;
  /** false: keep messages unparsed (`parsed` is empty), for tests of many thousands of messages. */
  readonly parse?: boolean;
}

/** A real SMTP server on a free local port that keeps every message it accepts, parsed. */
export async function startSmtpSink(options: SinkOptions = {}): Promise<SmtpSink> {
  const attempts = new Map<string, number>();
  const messages: ReceivedMail[] = [];
  const recipients: { address: string; at: number }[] = [];
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS', 'AUTH'],
    hide8BITMIME: options.hide8BitMime ?? false,
    logger: false,
    onRcptTo(address, _session, callback) {
      recipients.push({ address: address.address, at: Date.now() });
      const attempt = (attempts.get(address.address) ?? 0) + 1;
      attempts.set(address.address, attempt);
      const rejection = options.rejectRecipient?.(address.address, attempt);
      const answer = (): void => {
        if (rejection)
          callback(Object.assign(new Error(rejection.message), { responseCode: rejection.code }));
        else callback();
      };
      if (options.onRecipient) options.onRecipient(address.address).then(answer, answer);
      else answer();
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('end', () => {
        const raw = Buffer.concat(chunks);
        new Promise((resolve) => setTimeout(resolve, options.delayMs ?? 0))
          .then(() => (options.parse === false ? ({} as ParsedMail) : simpleParser(raw)))
          .then((parsed) => {
            const from = session.envelope.mailFrom;
            messages.push({
              envelopeFrom: from === false ? '' : from.address,
              envelopeTo: session.envelope.rcptTo.map((r) => r.address),
              raw,
              envelopeBody: from === false ? undefined : ((from.args || {}) as Record<string, string>).BODY,
              parsed,
              receivedAt: Date.now(),
            });
            callback();
          })
          .catch((error: unknown) => {
            callback(error as Error);
          });
      });
    },
  });
  // A client killed mid-session (a worker taking SIGKILL) resets its sockets; smtp-server reports
  // that as an 'error' event, which would otherwise be an uncaught exception in the test run.
  server.on('error', () => undefined);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.server.address() as AddressInfo;
  const to = (address: string): ReceivedMail[] =>
    messages.filter((m) => m.envelopeTo.some((a) => a.toLowerCase() === address.toLowerCase()));
  return {
    url: `smtp://127.0.0.1:${port}`,
    messages,
    recipients,
    to,
    async waitFor(address, count = 1, timeoutMs = PATIENCE_MS) {
      const deadline = Date.now() + timeoutMs;
      while (to(address).length < count) {
        if (Date.now() > deadline)
          throw new Error(`Expected ${count} message(s) to ${address}, got ${to(address).length}`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      return to(address);
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => {
          resolve();
        });
      }),
  };
}

/** Polls `check` until it holds; for effects of background jobs. */
export async function eventually<T>(
  check: () => Promise<T | undefined> | T | undefined,
  timeoutMs = PATIENCE_MS,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error('Condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
