import { connect as connectTcp, type Socket } from 'node:net';
import { connect as connectTls, type TLSSocket } from 'node:tls';

/** An SMTP failure: a reply (with its code) or, without one, a network problem. */
export class SmtpError extends Error {
  override name = 'SmtpError';

  constructor(
    message: string,
    /** The server's reply code; absent for network errors, which are worth another try. */
    readonly responseCode?: number,
    /** The server's whole reply, for the ledger. */
    readonly response: string = message,
    readonly code: string = responseCode === undefined ? 'ECONNECTION' : 'EPROTOCOL',
  ) {
    super(message);
  }
}

export interface Envelope {
  readonly from: string;
  readonly to: string;
  /** MAIL FROM's BODY parameter: set by the pool for a message marked with `asEightBitMime`. */
  readonly body?: '8BITMIME';
}

export interface SmtpPoolOptions {
  /** smtp://[user:pass@]host[:port] (STARTTLS when offered) or smtps://… (TLS from the start). */
  readonly url: string;
  readonly maxConnections: number;
  /** The name this client gives in EHLO. */
  readonly clientName: string;
  /** How long the server may take to answer anything. */
  readonly timeoutMs?: number;
}

interface Reply {
  readonly code: number;
  readonly text: string;
}

const CRLF = Buffer.from('\r\n');
const CRLF_DOT = Buffer.from('\r\n.');
const END_OF_DATA_LINE = '\r\n.\r\n';

function envelopeLines(envelope: Envelope): string[] {
  const body = envelope.body === undefined ? '' : ` BODY=${envelope.body}`;
  return [`MAIL FROM:<${envelope.from}>${body}`, `RCPT TO:<${envelope.to}>`, 'DATA'];
}

function envelopeCommands(envelope: Envelope): string {
  return envelopeLines(envelope)
    .map((line) => `${line}\r\n`)
    .join('');
}

/** Messages known to have no line that starts with a dot: DATA carries them as they are. */
const withoutLeadingDots = new WeakSet<Buffer>();

/**
 * Marks a message composed so that no line of it starts with a dot (an edition's copies: their
 * bodies are quoted-printable, which writes such a dot as =2E, and their headers are checked as
 * they are made). The pool then spares it its scan: on 30 KB of short lines full of dots, a
 * twentieth of a sending worker's time.
 */
export function withNoLeadingDot(message: Buffer): Buffer {
  withoutLeadingDots.add(message);
  return message;
}

/** Messages whose body has 8-bit text (RFC 6152): MAIL FROM says BODY=8BITMIME for them. */
const eightBitMessages = new WeakSet<Buffer>();

/**
 * Marks a message as 8bit. Only a session whose server announces 8BITMIME carries it; any other
 * refuses it with a network error, which the delivery pipeline retries (see `SmtpPool.takesEightBit`).
 */
export function asEightBitMime(message: Buffer): Buffer {
  eightBitMessages.add(message);
  return message;
}

export function isEightBitMime(message: Buffer): boolean {
  return eightBitMessages.has(message);
}

/**
 * The message as DATA carries it: a line that starts with a dot gets another (RFC 5321 4.5.2).
 * Messages are scanned for one unless marked as having none.
 */
export function dotStuffed(message: Buffer): Buffer {
  if (withoutLeadingDots.has(message)) return message;
  if (message[0] !== 0x2e && message.indexOf(CRLF_DOT) === -1) return message;
  const text = message.toString('latin1');
  return Buffer.from(text.replace(/^\./, '..').replace(/\r\n\./g, '\r\n..'), 'latin1');
}

/** One SMTP session: greeting, EHLO, STARTTLS and AUTH when due, then transactions one at a time. */
class SmtpConnection {
  private socket: Socket | TLSSocket;
  private buffered = '';
  private lines: string[] = [];
  private readonly waiting: { resolve: (reply: Reply) => void; reject: (error: Error) => void }[] = [];
  private failure: SmtpError | undefined;
  private pipelining = false;
  private extensions = new Set<string>();
  private authMethods = new Set<string>();

  private constructor(socket: Socket | TLSSocket, timeoutMs: number) {
    this.socket = socket;
    this.attach(socket, timeoutMs);
  }

  get alive(): boolean {
    return this.failure === undefined;
  }

  private attach(socket: Socket | TLSSocket, timeoutMs: number): void {
    socket.setNoDelay(true);
    socket.setTimeout(timeoutMs, () => {
      this.fail(
        new SmtpError(
          `The SMTP server did not answer within ${timeoutMs} ms`,
          undefined,
          undefined,
          'ETIMEDOUT',
        ),
      );
    });
    socket.on('data', (chunk: Buffer) => {
      this.read(chunk);
    });
    socket.on('error', (error: NodeJS.ErrnoException) => {
      this.fail(new SmtpError(error.message, undefined, undefined, error.code ?? 'ECONNECTION'));
    });
    socket.on('close', () => {
      this.fail(new SmtpError('The SMTP connection closed'));
    });
  }

  private fail(error: SmtpError): void {
    if (this.failure) return;
    this.failure = error;
    this.socket.destroy();
    for (const waiter of this.waiting.splice(0)) waiter.reject(error);
  }

  private read(chunk: Buffer): void {
    this.buffered += chunk.toString('latin1');
    let end = this.buffered.indexOf('\r\n');
    while (end >= 0) {
      const line = this.buffered.slice(0, end);
      this.buffered = this.buffered.slice(end + 2);
      this.lines.push(line);
      // A reply ends at the line whose code is followed by a space (or nothing), not a dash.
      if (line[3] !== '-') {
        const text = this.lines.join('\n');
        this.lines = [];
        const code = Number(line.slice(0, 3));
        const waiter = this.waiting.shift();
        if (!waiter || !Number.isInteger(code)) {
          this.fail(new SmtpError(`Unexpected SMTP reply: ${text}`));
          return;
        }
        waiter.resolve({ code, text });
      }
      end = this.buffered.indexOf('\r\n');
    }
  }

  private reply(): Promise<Reply> {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => this.waiting.push({ resolve, reject }));
  }

  /** Writes these pieces in one go: one system call and as few TCP segments as they fill. */
  private write(...pieces: (string | Buffer)[]): void {
    if (this.failure) return;
    if (pieces.length === 1) {
      this.socket.write(pieces[0] ?? '');
      return;
    }
    this.socket.cork();
    for (const piece of pieces) this.socket.write(piece);
    this.socket.uncork();
  }

  private async command(line: string, expect: number): Promise<Reply> {
    const pending = this.reply();
    this.write(`${line}\r\n`);
    const reply = await pending;
    if (Math.floor(reply.code / 100) !== expect) {
      throw new SmtpError(`${line.split(' ')[0]} refused: ${reply.text}`, reply.code, reply.text);
    }
    return reply;
  }

  private async hello(clientName: string): Promise<void> {
    const reply = await this.command(`EHLO ${clientName}`, 2);
    const lines = reply.text
      .split('\n')
      .slice(1)
      .map((line) => line.slice(4).toUpperCase());
    this.extensions = new Set(lines.map((line) => line.split(' ')[0] ?? ''));
    this.authMethods = new Set(
      lines
        .find((line) => line.startsWith('AUTH '))
        ?.split(' ')
        .slice(1) ?? [],
    );
    this.pipelining = this.extensions.has('PIPELINING');
  }

  static async open(options: SmtpPoolOptions): Promise<SmtpConnection> {
    const url = new URL(options.url);
    const secure = url.protocol === 'smtps:';
    const host = url.hostname;
    const port = Number(url.port || (secure ? 465 : 587));
    const timeoutMs = options.timeoutMs ?? 60_000;
    const socket = secure ? connectTls({ host, port, servername: host }) : connectTcp({ host, port });
    const connection = new SmtpConnection(socket, timeoutMs);
    try {
      const greeting = await connection.reply();
      if (greeting.code !== 220)
        throw new SmtpError(`SMTP greeting refused: ${greeting.text}`, greeting.code, greeting.text);
      await connection.hello(options.clientName);
      if (!secure && connection.extensions.has('STARTTLS')) {
        await connection.command('STARTTLS', 2);
        connection.socket.removeAllListeners();
        const upgraded = connectTls({ socket: connection.socket, servername: host });
        connection.socket = upgraded;
        connection.attach(upgraded, timeoutMs);
        await new Promise<void>((resolve, reject) => {
          upgraded.once('secureConnect', resolve);
          upgraded.once('error', reject);
        });
        await connection.hello(options.clientName);
      }
      if (url.username)
        await connection.authenticate(decodeURIComponent(url.username), decodeURIComponent(url.password));
      return connection;
    } catch (error) {
      connection.fail(error instanceof SmtpError ? error : new SmtpError((error as Error).message));
      throw error;
    }
  }

  private async authenticate(user: string, pass: string): Promise<void> {
    if (this.authMethods.has('PLAIN') || this.authMethods.size === 0) {
      await this.command(`AUTH PLAIN ${Buffer.from(`\0${user}\0${pass}`).toString('base64')}`, 2);
      return;
    }
    await this.command('AUTH LOGIN', 3);
    await this.command(Buffer.from(user).toString('base64'), 3);
    await this.command(Buffer.from(pass).toString('base64'), 2);
  }

  get pipelines(): boolean {
    return this.pipelining;
  }

  /** Whether the server announced this extension in its last EHLO reply. */
  announces(extension: string): boolean {
    return this.extensions.has(extension);
  }

  /** Whether a transaction with this envelope can go over this session. */
  private carries(envelope: Envelope): boolean {
    return envelope.body === undefined || this.extensions.has(envelope.body);
  }

  /**
   * Starts a transaction: MAIL, RCPT and DATA, in one write with PIPELINING (RFC 2920), whose
   * replies come back together. Resolves once the server waits for the message (354).
   */
  begin(envelope: Envelope): Promise<void> {
    if (!this.carries(envelope)) {
      return Promise.reject(
        new SmtpError(
          `The SMTP server does not announce ${envelope.body ?? ''}, which this message needs`,
          undefined,
          undefined,
          'EPROTOCOL',
        ),
      );
    }
    if (!this.pipelining) return this.beginStepByStep(envelope);
    const replies = this.expectEnvelopeReplies();
    this.write(envelopeCommands(envelope));
    return this.opened(replies);
  }

  private async beginStepByStep(envelope: Envelope): Promise<void> {
    const replies: Reply[] = [];
    for (const line of envelopeLines(envelope)) {
      const pending = this.reply();
      this.write(`${line}\r\n`);
      const reply = await pending;
      replies.push(reply);
      if (Math.floor(reply.code / 100) !== (line === 'DATA' ? 3 : 2)) break;
    }
    await this.settle(replies);
  }

  /** The three replies a transaction's start gets; a broken session rejects them all, and none goes unhandled. */
  private expectEnvelopeReplies(): Promise<Reply>[] {
    const pending = [this.reply(), this.reply(), this.reply()];
    for (const reply of pending) reply.catch(() => undefined);
    return pending;
  }

  private async opened(pending: readonly Promise<Reply>[]): Promise<void> {
    const replies: Reply[] = [];
    for (const reply of pending) replies.push(await reply);
    await this.settle(replies);
  }

  /** A refused start throws the refusal, once the session is reset for the next transaction. */
  private async settle(replies: readonly Reply[]): Promise<void> {
    const [mail, rcpt, data] = replies;
    const refused =
      [mail, rcpt].find((reply) => reply && Math.floor(reply.code / 100) !== 2) ??
      (data?.code === 354 ? undefined : data);
    if (!refused) return;
    try {
      // A server that still said 354 gets an empty message ended; then the transaction is reset.
      if (data?.code === 354) {
        const ended = this.reply();
        this.write('.\r\n');
        await ended;
      }
      const reset = this.reply();
      this.write('RSET\r\n');
      await reset;
    } catch {
      // The session broke while resetting: it is gone, and the refusal below is what counts.
    }
    throw new SmtpError(refused.text, refused.code, refused.text);
  }

  /**
   * Ends a transaction begun here with the message's bytes. With PIPELINING the next transaction's
   * start may go behind them in the same write (RFC 2920 lets message content open a group): one
   * write and one round trip a message rather than two of each. `accepted` is the server's reply
   * to this message; `nextOpened` is to the next one what `begin` gives.
   */
  finish(message: Buffer, next?: Envelope): { accepted: Promise<string>; nextOpened?: Promise<void> } {
    const reply = this.reply();
    const accepted = reply.then((answer) => {
      if (Math.floor(answer.code / 100) !== 2) throw new SmtpError(answer.text, answer.code, answer.text);
      return answer.text;
    });
    const body = dotStuffed(message);
    const end = body.subarray(-2).equals(CRLF) ? '.\r\n' : END_OF_DATA_LINE;
    // An envelope this session cannot carry is not pipelined: `begin` refuses it on its own.
    if (next === undefined || !this.pipelining || !this.carries(next)) {
      this.write(body, end);
      return { accepted };
    }
    const replies = this.expectEnvelopeReplies();
    this.write(body, end + envelopeCommands(next));
    return { accepted, nextOpened: this.opened(replies) };
  }

  close(): void {
    if (this.failure) return;
    this.write('QUIT\r\n');
    this.socket.end();
    this.failure = new SmtpError('The SMTP connection was closed');
  }
}

interface Task {
  readonly envelope: Envelope;
  readonly message: Buffer;
  /** Asked once a session is free for the message, just before MAIL FROM: false withdraws it. */
  readonly stillWanted: () => boolean | Promise<boolean>;
  readonly resolve: (response: string | undefined) => void;
  readonly reject: (error: unknown) => void;
}

/** Whether a task is still wanted: at once when its answer is known without waiting. */
function ask(task: Task): boolean | Promise<boolean> {
  try {
    return task.stillWanted();
  } catch (error) {
    return Promise.reject(error instanceof Error ? error : new Error(String(error)));
  }
}

/**
 * A pool of SMTP sessions kept open across messages, each sending one message at a time, with
 * pipelined commands and the message bytes written as they are: nothing is parsed or composed
 * here. A session that breaks is replaced at the next message; the message it was carrying fails
 * as a network error, which the delivery pipeline retries with the same Message-ID.
 */
export class SmtpPool {
  private readonly idle: SmtpConnection[] = [];
  private readonly queue: Task[] = [];
  /**
   * Pipelining sessions whose message is out and awaits its reply with nothing behind it: a task
   * handed to one starts at once, so that it does not wait a round trip for that reply.
   */
  private readonly behind: ((task: Task) => boolean)[] = [];
  private open = 0;
  private closed = false;
  private eightBitMime = false;

  constructor(private readonly options: SmtpPoolOptions) {}

  /**
   * Whether the last session opened announced 8BITMIME: what a message composed now should count
   * on. A session opened since to a server without it (a relay replaced by another) refuses the 8bit
   * messages already composed, as network errors, and those are composed again as the pipeline
   * retries them.
   */
  get takesEightBit(): boolean {
    return this.eightBitMime;
  }

  /** The server's reply to the message, or undefined when `stillWanted` withdrew it. */
  send(
    envelope: Envelope,
    message: Buffer,
    stillWanted: () => boolean | Promise<boolean> = () => true,
  ): Promise<string | undefined> {
    if (this.closed) return Promise.reject(new SmtpError('The SMTP pool is closed'));
    return new Promise((resolve, reject) => {
      this.queue.push({
        envelope: eightBitMessages.has(message)
          ? { from: envelope.from, to: envelope.to, body: '8BITMIME' }
          : envelope,
        message,
        stillWanted,
        resolve,
        reject,
      });
      this.pump();
    });
  }

  private pump(): void {
    while (this.queue.length > 0) {
      const connection = this.idle.pop();
      if (connection && !connection.alive) {
        this.open -= 1;
      } else if (connection) {
        const task = this.queue.shift();
        if (task) this.run(connection, task);
      } else if (this.open < this.options.maxConnections) {
        const task = this.queue.shift();
        if (!task) return;
        this.open += 1;
        SmtpConnection.open(this.options).then(
          (opened) => {
            this.eightBitMime = opened.announces('8BITMIME');
            this.run(opened, task);
          },
          (error: unknown) => {
            this.open -= 1;
            task.reject(error);
            this.pump();
          },
        );
      } else {
        const follow = this.behind.shift();
        const task = this.queue[0];
        if (!follow || !task) return;
        // A session that broke meanwhile takes nothing; the task waits for another.
        if (follow(task)) this.queue.shift();
      }
    }
  }

  private run(connection: SmtpConnection, task: Task): void {
    this.serve(connection, task)
      .catch(() => undefined)
      .finally(() => {
        if (connection.alive && !this.closed) this.idle.push(connection);
        else {
          this.open -= 1;
          if (this.closed) connection.close();
        }
        this.pump();
      });
  }

  /**
   * Carries messages over one session for as long as some wait: each message's end goes out with
   * the next one's start behind it, when the next is wanted by then (see `finish`); one handed over
   * while the message awaits its reply starts at once (see `behind`).
   */
  private async serve(connection: SmtpConnection, first: Task): Promise<void> {
    let following: { task: Task; opening: Promise<boolean> } | undefined = {
      task: first,
      opening: this.start(connection, first, ask(first)),
    };
    while (following !== undefined) {
      const { task, opening } = following;
      following = undefined;
      const follow = (next: Task): boolean => {
        if (!connection.alive || this.closed) return false;
        following = { task: next, opening: this.start(connection, next, ask(next)) };
        return true;
      };
      try {
        if (await opening) {
          const next = connection.pipelines ? this.queue.shift() : undefined;
          const wanted = next === undefined ? false : ask(next);
          const sent = connection.finish(task.message, wanted === true ? next?.envelope : undefined);
          if (next !== undefined) {
            following = {
              task: next,
              opening: sent.nextOpened?.then(() => true) ?? this.start(connection, next, wanted),
            };
            following.opening.catch(() => undefined);
          } else if (connection.pipelines) this.behind.push(follow);
          const response = await sent.accepted;
          // Handed on at the next turn of the event loop, so that the writes called for by the
          // replies that came in with this one (this session's next message first) go out before
          // what this reply sets off: the sender's bookkeeping and the composing of its next
          // message, which can wait. Handed on at once, they went first, and on a sending worker a
          // session waited 100 to 140 µs rather than 20 between the server's answer and its next
          // message (2026-12-07).
          setImmediate(() => {
            task.resolve(response);
          });
        } else task.resolve(undefined);
      } catch (error) {
        task.reject(error);
      }
      const waiting = this.behind.indexOf(follow);
      if (waiting >= 0) this.behind.splice(waiting, 1);
      if (following === undefined && connection.alive && !this.closed) {
        const next = this.queue.shift();
        if (next !== undefined) follow(next);
      }
    }
  }

  /**
   * Starts a task's transaction once it is known to be wanted, in the same turn as the answer:
   * nothing can come between them. True once the server waits for the message; false when withdrawn.
   */
  private start(
    connection: SmtpConnection,
    task: Task,
    wanted: boolean | Promise<boolean>,
  ): Promise<boolean> {
    const started = Promise.resolve(wanted).then(async (yes) => {
      if (!yes) return false;
      await connection.begin(task.envelope);
      return true;
    });
    started.catch(() => undefined);
    return started;
  }

  close(): void {
    this.closed = true;
    for (const connection of this.idle.splice(0)) connection.close();
    for (const task of this.queue.splice(0)) task.reject(new SmtpError('The SMTP pool is closed'));
  }
}
