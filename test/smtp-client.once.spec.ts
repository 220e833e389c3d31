import { type AddressInfo } from 'node:net';
import { simpleParser } from 'mailparser';
import { SMTPServer, type SMTPServerOptions } from 'smtp-server';
import { afterEach, describe, expect, it } from 'vitest';
import { classifySmtpFailure } from '../src/delivery/smtp-outcome.js';
import { SmtpError, SmtpPool } from '../src/mail/smtp-client.js';

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
    let receivedWhenAsked = -1;
    const first = smtp.send({ from: 'a@exemple.fr', to: 'garde@exemple.fr' }, message('Premier'), () => true);
    const second = smtp.send({ from: 'a@exemple.fr', to: 'parti@exemple.fr' }, message('Second'), () => {
      receivedWhenAsked = sink.received.length;
      return false;
    });
    const third = smtp.send({ from: 'a@exemple.fr', to: 'reste@exemple.fr' }, message('Troisième'), () =>
      Promise.resolve(true),
    );
    expect((await first)?.startsWith('250')).toBe(true);
    expect(await second).toBeUndefined();
    expect((await third)?.startsWith('250')).toBe(true);
    // Asked when the one session was free for it, not when it was queued.
    expect(receivedWhenAsked).toBe(1);
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
    const refused = await smtp
      .send({ from: 'a@exemple.fr', to: 'absent@exemple.fr' }, message('x'))
      .catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(SmtpError);
    expect(classifySmtpFailure(refused)).toEqual({
      kind: 'hard-bounce',
      response: expect.stringMatching(/^550 5\.1\.1/),
    });
    await smtp.send({ from: 'a@exemple.fr', to: 'present@exemple.fr' }, message('y'));
    expect(sink.received.map((r) => r.to)).toEqual([['present@exemple.fr']]);
    expect(sink.sessions()).toBe(1);
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
