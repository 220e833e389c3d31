import { type AddressInfo, createServer, type Socket } from 'node:net';
import { Worker } from 'node:worker_threads';
import { simpleParser } from 'mailparser';
import { SMTPServer, type SMTPServerOptions } from 'smtp-server';
import { afterEach, describe, expect, it } from 'vitest';
import { classifySmtpFailure } from '../src/delivery/smtp-outcome.js';
import { asEightBitMime, SmtpError, SmtpPool } from '../src/mail/smtp-client.js';

interface Received {
  readonly to: string[];
  readonly raw: Buffer;
}

const servers: SMTPServer[] = [];
const pools: SmtpPool[] = [];
afterEach(async () => {
  for (const pool of pools.splice(0)) pool.close();
  await Promise.all(
    servers.splice(0).map(
      (server) =>
        new Promise<void>((resolve) => {
          server.close(() => {
            resolve();
          });
        }),
    ),
  );
});

async function server(
  options: Partial<SMTPServerOptions> = {},
): Promise<{ url: string; received: Received[]; sessions: () => number; server: SMTPServer }> {
  const received: Received[] = [];
  let sessions = 0;
  const smtp = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    onConnect(_session, callback) {
      sessions += 1;
      callback();
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('end', () => {
        received.push({ to: session.envelope.rcptTo.map((r) => r.address), raw: Buffer.concat(chunks) });
        callback();
      });
    },
    ...options,
  });
  smtp.on('error', () => undefined);
  servers.push(smtp);
  await new Promise<void>((resolve) => smtp.listen(0, '127.0.0.1', resolve));
  const { port } = smtp.server.address() as AddressInfo;
  return { url: `smtp://127.0.0.1:${port}`, received, sessions: () => sessions, server: smtp };
}

function pool(url: string, maxConnections = 2): SmtpPool {
  const created = new SmtpPool({ url, maxConnections, clientName: 'blog.example.test' });
  pools.push(created);
  return created;
}

const message = (body: string): Buffer =>
  Buffer.from(
    `From: <a@exemple.fr>\r\nTo: <b@exemple.fr>\r\nSubject: Essai\r\nMessage-ID: <m@exemple.fr>\r\n\r\n${body}\r\n`,
  );

/**
 * A pipelining server that answers a message's end only once the next message has started (but
 * the last one's at once): a client that waits for that answer before it starts the next one never
 * gets it, and `unlessStuck` says so.
 */
async function holdingServer(total: number) {
  const events: string[] = [];
  const sockets = new Set<Socket>();
  const endWaiters: { count: number; resolve: () => void }[] = [];
  const raw = createServer((socket) => {
    sockets.add(socket);
    let buffered = '';
    let inData = false;
    let ended = 0;
    let held = false;
    socket.write('220 test ESMTP\r\n');
    socket.on('data', (chunk: Buffer) => {
      buffered += chunk.toString('latin1');
      for (let end = buffered.indexOf('\r\n'); end >= 0; end = buffered.indexOf('\r\n')) {
        const line = buffered.slice(0, end);
        buffered = buffered.slice(end + 2);
        if (inData) {
          if (line !== '.') continue;
          inData = false;
          ended += 1;
          events.push(`end ${ended}`);
          for (const waiter of endWaiters) if (waiter.count <= ended) waiter.resolve();
          if (ended < total) held = true;
          else socket.write('250 queued\r\n');
        } else if (line.startsWith('EHLO')) socket.write('250-test\r\n250 PIPELINING\r\n');
        else if (line.startsWith('MAIL')) {
          events.push('mail');
          if (held) socket.write('250 queued\r\n');
          held = false;
          socket.write('250 ok\r\n');
        } else if (line.startsWith('RCPT')) socket.write('250 ok\r\n');
        else if (line === 'DATA') {
          inData = true;
          socket.write('354 go\r\n');
        } else if (line === 'QUIT') socket.end('221 bye\r\n');
      }
    });
    socket.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => raw.listen(0, '127.0.0.1', resolve));
  const { port } = raw.address() as AddressInfo;
  return {
    url: `smtp://127.0.0.1:${port}`,
    events,
    /** Resolves once `count` messages have ended at the server. */
    ended: (count: number): Promise<void> =>
      new Promise((resolve) => {
        endWaiters.push({ count, resolve });
        if (events.filter((event) => event.startsWith('end')).length >= count) resolve();
      }),
    async unlessStuck<T>(promise: Promise<T>): Promise<T> {
      let timer: NodeJS.Timeout | undefined;
      const stuck = new Promise<never>((_, reject) => {
        timer = setTimeout(() => {
          reject(new Error(`the client waited for the reply to a message's end: ${events.join(', ')}`));
        }, 20_000);
      });
      try {
        return await Promise.race([promise, stuck]);
      } finally {
        clearTimeout(timer);
      }
    },
    close: (): Promise<void> =>
      new Promise<void>((resolve) => {
        raw.close(() => {
          resolve();
        });
        for (const socket of sockets) socket.destroy();
      }),
  };
}

/**
 * A pipelining server on a thread of its own, answering as Postfix does: the reply to a message's
 * end goes back in one write with the replies to the next message's start, up to its 354. It keeps
 * listening while the test's thread is blocked, and counts in `ended` the messages it got whole.
 */
async function serverOnItsOwnThread(): Promise<{
  url: string;
  ended: Int32Array;
  close: () => Promise<number>;
}> {
  const ended = new Int32Array(new SharedArrayBuffer(4));
  const thread = new Worker(
    `
    const { parentPort, workerData } = require('node:worker_threads');
    const net = require('node:net');
    const ended = workerData.ended;
    const server = net.createServer((socket) => {
      let buffered = '';
      let inData = false;
      let replies = '';
      socket.write('220 test ESMTP\\r\\n');
      socket.on('data', (chunk) => {
        buffered += chunk.toString('latin1');
        for (let end = buffered.indexOf('\\r\\n'); end >= 0; end = buffered.indexOf('\\r\\n')) {
          const line = buffered.slice(0, end);
          buffered = buffered.slice(end + 2);
          if (inData) {
            if (line !== '.') continue;
            inData = false;
            Atomics.add(ended, 0, 1);
            Atomics.notify(ended, 0);
            replies += '250 queued\\r\\n';
            // The last message's end is answered at once; another's waits for the next start.
            if (Atomics.load(ended, 0) === workerData.total) {
              socket.write(replies);
              replies = '';
            }
          } else if (line.startsWith('EHLO')) socket.write('250-test\\r\\n250 PIPELINING\\r\\n');
          else if (line.startsWith('MAIL') || line.startsWith('RCPT')) replies += '250 ok\\r\\n';
          else if (line === 'DATA') {
            inData = true;
            socket.write(replies + '354 go\\r\\n');
            replies = '';
          } else if (line === 'QUIT') socket.end('221 bye\\r\\n');
        }
      });
      socket.on('error', () => undefined);
    });
    server.listen(0, '127.0.0.1', () => parentPort.postMessage(server.address().port));
    `,
    { eval: true, workerData: { ended, total: 2 } },
  );
  const port = await new Promise<number>((resolve, reject) => {
    thread.once('message', resolve);
    thread.once('error', reject);
  });
  return {
    url: `smtp://127.0.0.1:${port}`,
    ended,
    // Ends the thread with its server and sessions, whatever state a failed test left them in.
    close: () => thread.terminate(),
  };
}

describe('SmtpPool', () => {
  it('asks whether a message is still wanted as its session frees, and withdraws it without a command', async () => {
    const rcpts: string[] = [];
    const sink = await server({
      onRcptTo(address, _session, callback) {
        rcpts.push(address.address);
        callback();
      },
    });
    const smtp = pool(sink.url, 1);
    let recipientsWhenAsked: string[] = [];
    const first = smtp.send({ from: 'a@exemple.fr', to: 'garde@exemple.fr' }, message('Premier'), () => true);
    const second = smtp.send({ from: 'a@exemple.fr', to: 'parti@exemple.fr' }, message('Second'), () => {
      recipientsWhenAsked = [...rcpts];
      return false;
    });
    const third = smtp.send({ from: 'a@exemple.fr', to: 'reste@exemple.fr' }, message('Troisième'), () =>
      Promise.resolve(true),
    );
    expect((await first)?.startsWith('250')).toBe(true);
    expect(await second).toBeUndefined();
    expect((await third)?.startsWith('250')).toBe(true);
    // Asked when the one session was about to carry it (the message before it under way, its
    // start to follow that message's end), not when it was queued.
    expect(recipientsWhenAsked).toEqual(['garde@exemple.fr']);
    expect(rcpts).toEqual(['garde@exemple.fr', 'reste@exemple.fr']);
  });

  it('sends over a few kept-open sessions, with a line starting with a dot intact', async () => {
    const sink = await server();
    const smtp = pool(sink.url, 2);
    const bodies = Array.from({ length: 20 }, (_, n) => `Ligne ${n}\r\n.point en tête\r\n..deux points`);
    const replies = await Promise.all(
      bodies.map((body, n) => smtp.send({ from: 'a@exemple.fr', to: `r${n}@exemple.fr` }, message(body))),
    );
    expect(replies.every((reply) => reply?.startsWith('250'))).toBe(true);
    expect(sink.received).toHaveLength(20);
    expect(sink.sessions()).toBeLessThanOrEqual(2);
    const parsed = await simpleParser(sink.received.find((r) => r.to[0] === 'r3@exemple.fr')!.raw);
    expect(parsed.text?.trim()).toBe('Ligne 3\n.point en tête\n..deux points');
  });

  it('says BODY=8BITMIME for an 8bit message where the server announces it, and refuses it, worth a retry, where not', async () => {
    const bodies: (string | undefined)[] = [];
    const announcing = await server({
      onMailFrom(address, _session, callback) {
        bodies.push(((address.args || {}) as Record<string, string>).BODY);
        callback();
      },
    });
    const smtp = pool(announcing.url, 1);
    // Nothing is known of a server before a session to it.
    expect(smtp.takesEightBit).toBe(false);
    await smtp.send({ from: 'a@exemple.fr', to: 'b@exemple.fr' }, message('Sans accent'));
    expect(smtp.takesEightBit).toBe(true);
    await Promise.all([
      smtp.send({ from: 'a@exemple.fr', to: 'c@exemple.fr' }, asEightBitMime(message('Hélène à Noël'))),
      smtp.send({ from: 'a@exemple.fr', to: 'd@exemple.fr' }, message('Encore sans accent')),
    ]);
    expect(bodies).toEqual([undefined, '8BITMIME', undefined]);
    expect((await simpleParser(announcing.received[1]!.raw)).text?.trim()).toBe('Hélène à Noël');

    const silent = await server({ hide8BITMIME: true });
    const older = pool(silent.url, 1);
    await older.send({ from: 'a@exemple.fr', to: 'b@exemple.fr' }, message('un'));
    expect(older.takesEightBit).toBe(false);
    // Pipelined behind a message, and on its own: refused before MAIL FROM either way.
    const [, refused] = await Promise.all([
      older.send({ from: 'a@exemple.fr', to: 'c@exemple.fr' }, message('deux')),
      older
        .send({ from: 'a@exemple.fr', to: 'd@exemple.fr' }, asEightBitMime(message('Hélène')))
        .catch((error: unknown) => error),
    ]);
    const alone = await older
      .send({ from: 'a@exemple.fr', to: 'e@exemple.fr' }, asEightBitMime(message('Noël')))
      .catch((error: unknown) => error);
    for (const error of [refused, alone]) {
      expect(error).toBeInstanceOf(SmtpError);
      expect(classifySmtpFailure(error)).toEqual({
        kind: 'transient',
        response: expect.stringMatching(/8BITMIME/),
      });
    }
    await older.send({ from: 'a@exemple.fr', to: 'f@exemple.fr' }, message('trois'));
    expect(silent.received.map((r) => r.to)).toEqual([['b@exemple.fr'], ['c@exemple.fr'], ['f@exemple.fr']]);
    expect(silent.sessions()).toBe(1);
  });

  it('reports a refused recipient with its code, and the session goes on', async () => {
    const sink = await server({
      onRcptTo(address, _session, callback) {
        if (address.address.startsWith('absent')) {
          callback(Object.assign(new Error('5.1.1 No such user here'), { responseCode: 550 }));
          return;
        }
        callback();
      },
    });
    const smtp = pool(sink.url, 1);
    // All at once on one session: the refused recipient's start goes out behind the first message.
    const [, refused] = await Promise.all([
      smtp.send({ from: 'a@exemple.fr', to: 'avant@exemple.fr' }, message('w')),
      smtp
        .send({ from: 'a@exemple.fr', to: 'absent@exemple.fr' }, message('x'))
        .catch((error: unknown) => error),
      smtp.send({ from: 'a@exemple.fr', to: 'present@exemple.fr' }, message('y')),
    ]);
    expect(refused).toBeInstanceOf(SmtpError);
    expect(classifySmtpFailure(refused)).toEqual({
      kind: 'hard-bounce',
      response: expect.stringMatching(/^550 5\.1\.1/),
    });
    await smtp.send({ from: 'a@exemple.fr', to: 'apres@exemple.fr' }, message('z'));
    expect(sink.received.map((r) => r.to)).toEqual([
      ['avant@exemple.fr'],
      ['present@exemple.fr'],
      ['apres@exemple.fr'],
    ]);
    expect(sink.sessions()).toBe(1);
  });

  it('starts the next message behind the end of the one before, without waiting for its reply', async () => {
    const total = 3;
    const held = await holdingServer(total);
    try {
      const smtp = pool(held.url, 1);
      const replies = Promise.all(
        Array.from({ length: total }, (_, n) =>
          smtp.send({ from: 'a@exemple.fr', to: `r${n}@exemple.fr` }, message(`n° ${n}`)),
        ),
      );
      expect(await held.unlessStuck(replies)).toEqual(Array(total).fill('250 queued'));
      expect(held.events).toEqual(['mail', 'end 1', 'mail', 'end 2', 'mail', 'end 3']);
    } finally {
      await held.close();
    }
  });

  it('writes the next message before it hands on the reply to the one before', async () => {
    const threaded = await serverOnItsOwnThread();
    try {
      const smtp = pool(threaded.url, 1);
      const first = smtp.send({ from: 'a@exemple.fr', to: 'r0@exemple.fr' }, message('n° 0'));
      const second = smtp.send({ from: 'a@exemple.fr', to: 'r1@exemple.fr' }, message('n° 1'));
      // The first reply comes back with the 354 that lets the second message go. Whoever gets that
      // reply blocks this thread here; the server, on its own, sees the second message end only if
      // it was written before the reply was handed on.
      const whenHandedOn = await first.then(() => Atomics.wait(threaded.ended, 0, 1, 20_000));
      expect(whenHandedOn).not.toBe('timed-out');
      expect(await second).toBe('250 queued');
    } finally {
      await threaded.close();
    }
  });

  it('starts a message handed over while the one before awaits its reply, behind it', async () => {
    const held = await holdingServer(2);
    try {
      const smtp = pool(held.url, 1);
      const first = smtp.send({ from: 'a@exemple.fr', to: 'r0@exemple.fr' }, message('n° 0'));
      // The only session has sent its message and waits for the reply, which the server holds.
      await held.unlessStuck(held.ended(1));
      const second = smtp.send({ from: 'a@exemple.fr', to: 'r1@exemple.fr' }, message('n° 1'));
      expect(await held.unlessStuck(Promise.all([first, second]))).toEqual(['250 queued', '250 queued']);
      expect(held.events).toEqual(['mail', 'end 1', 'mail', 'end 2']);
    } finally {
      await held.close();
    }
  });

  it('works with a server that does not offer pipelining', async () => {
    const sink = await server({ hidePIPELINING: true });
    await pool(sink.url).send({ from: 'a@exemple.fr', to: 'b@exemple.fr' }, message('sans pipelining'));
    expect(sink.received).toHaveLength(1);
  });

  it('authenticates with the credentials of the URL', async () => {
    const sink = await server({
      authOptional: false,
      authMethods: ['PLAIN', 'LOGIN'],
      onAuth(auth, _session, callback) {
        if (auth.username === 'lettre' && auth.password === 'mot de passe')
          callback(null, { user: 'lettre' });
        else callback(new Error('Invalid credentials'));
      },
    });
    const url = sink.url.replace('smtp://', 'smtp://lettre:mot%20de%20passe@');
    await pool(url).send({ from: 'a@exemple.fr', to: 'b@exemple.fr' }, message('authentifié'));
    expect(sink.received).toHaveLength(1);
    const denied = await pool(sink.url.replace('smtp://', 'smtp://lettre:faux@'))
      .send({ from: 'a@exemple.fr', to: 'b@exemple.fr' }, message('x'))
      .catch((e: unknown) => e);
    expect((denied as SmtpError).responseCode).toBe(535);
  });

  it('gives a network error, worth a retry, when the server goes away, and reconnects after', async () => {
    // closeTimeout: the server drops open sessions 100 ms after close() instead of waiting for them.
    const sink = await server({ closeTimeout: 100 });
    const smtp = pool(sink.url, 1);
    await smtp.send({ from: 'a@exemple.fr', to: 'b@exemple.fr' }, message('avant'));
    const { url } = sink;
    await new Promise<void>((resolve) => {
      sink.server.close(() => {
        resolve();
      });
    });
    servers.splice(servers.indexOf(sink.server), 1);
    const lost = await smtp
      .send({ from: 'a@exemple.fr', to: 'b@exemple.fr' }, message('pendant'))
      .catch((e: unknown) => e);
    expect(classifySmtpFailure(lost).kind).toBe('transient');
    // A new server on the same port: the pool opens a fresh session for the next message.
    const port = Number(new URL(url).port);
    const again = new SMTPServer({
      authOptional: true,
      disabledCommands: ['STARTTLS'],
      logger: false,
      onData(stream, _s, callback) {
        stream.resume();
        stream.on('end', () => {
          callback();
        });
      },
    });
    again.on('error', () => undefined);
    servers.push(again);
    await new Promise<void>((resolve) => again.listen(port, '127.0.0.1', resolve));
    expect(await smtp.send({ from: 'a@exemple.fr', to: 'b@exemple.fr' }, message('après'))).toMatch(/^250/);
  });
});
