/**
 * A distant relay, made of a near one: a TCP proxy that holds every chunk, each way, for half the
 * round trip before passing it on, in order. For the send with `--relay-rtt-ms`, where a session's
 * round trips, not the machine's CPU, bound what it carries.
 * Usage: tsx delay-proxy-process.ts PORT TARGET_PORT ROUND_TRIP_MS
 */
import { connect, createServer, type Socket } from 'node:net';

const [port, targetPort, roundTripMs] = process.argv.slice(2).map(Number);
const oneWayMs = (roundTripMs ?? 0) / 2;

/** Timers of one duration fire in the order they were set: the stream keeps its order. */
function delayed(from: Socket, to: Socket): void {
  from.on('data', (chunk: Buffer) => {
    setTimeout(() => {
      if (!to.destroyed) to.write(chunk);
    }, oneWayMs);
  });
  from.on('end', () => {
    setTimeout(() => to.end(), oneWayMs);
  });
  from.on('error', () => to.destroy());
  from.on('close', () => {
    setTimeout(() => to.destroy(), oneWayMs);
  });
}

createServer((client) => {
  const relay = connect(targetPort ?? 0, '127.0.0.1');
  client.setNoDelay(true);
  relay.setNoDelay(true);
  delayed(client, relay);
  delayed(relay, client);
}).listen(port, '127.0.0.1', () => {
  process.stdout.write('listening\n');
});
