/**
 * The raw baseline when Postfix's smtp-source is not installed: the same message bytes pushed to
 * the sink over raw sockets, with ESMTP pipelining (MAIL, RCPT and DATA in one write), no parsing
 * and nothing composed per message. Usage: tsx bench/lib/blaster-process.ts PORT SESSIONS COUNT FILE
 */
import { readFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';

const [port, sessions, count] = process.argv.slice(2, 5).map(Number) as [number, number, number];
const message = readFileSync(process.argv[5] ?? '');
// Dot-stuffed once, as it would be on the wire, then terminated.
const body = Buffer.concat([
  Buffer.from(message.toString('latin1').replace(/\r\n\./g, '\r\n..'), 'latin1'),
  Buffer.from('\r\n.\r\n'),
]);
const envelope = Buffer.from(
  'MAIL FROM:<bench@exemple.fr> BODY=8BITMIME\r\nRCPT TO:<lecteur@exemple.fr>\r\nDATA\r\n',
);

let started = 0;

/** Resolves with each complete reply line (the last line of a multi-line reply). */
function replies(socket: Socket): () => Promise<string> {
  let buffered = '';
  const lines: string[] = [];
  const waiting: ((line: string) => void)[] = [];
  socket.on('data', (chunk: Buffer) => {
    buffered += chunk.toString('latin1');
    let end = buffered.indexOf('\r\n');
    while (end >= 0) {
      const line = buffered.slice(0, end);
      buffered = buffered.slice(end + 2);
      if (line[3] !== '-') {
        const next = waiting.shift();
        if (next) next(line);
        else lines.push(line);
      }
      end = buffered.indexOf('\r\n');
    }
  });
  return () => {
    const line = lines.shift();
    return line !== undefined ? Promise.resolve(line) : new Promise((resolve) => waiting.push(resolve));
  };
}

async function session(): Promise<void> {
  const socket = connect(port, '127.0.0.1');
  socket.setNoDelay(true);
  const next = replies(socket);
  await next(); // greeting
  socket.write('EHLO blaster\r\n');
  await next();
  while (started < count) {
    started += 1;
    socket.write(envelope);
    await next(); // MAIL
    await next(); // RCPT
    await next(); // DATA 354
    socket.write(body);
    const accepted = await next();
    if (!accepted.startsWith('250')) throw new Error(`The sink answered ${accepted}`);
  }
  socket.end('QUIT\r\n');
}

await Promise.all(Array.from({ length: sessions }, session));
