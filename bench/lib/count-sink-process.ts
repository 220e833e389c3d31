/**
 * The fallback SMTP sink when Postfix's smtp-sink is not installed: an smtp-server that accepts
 * everything, keeps nothing and prints the same running counter as `smtp-sink -c` ("mesg=N"), so
 * the benchmark reads both alike. Run in its own process: tsx bench/lib/count-sink-process.ts PORT
 */
import { SMTPServer } from 'smtp-server';

const port = Number(process.argv[2]);
let messages = 0;
const server = new SMTPServer({
  authOptional: true,
  disabledCommands: ['STARTTLS', 'AUTH'],
  logger: false,
  size: 0,
  onData(stream, _session, callback) {
    stream.on('data', () => undefined);
    stream.on('end', () => {
      messages += 1;
      process.stdout.write(`mesg=${messages}\r`);
      callback();
    });
  },
});
server.on('error', () => undefined);
server.listen(port, '127.0.0.1', () => {
  process.stdout.write('listening\r');
});
