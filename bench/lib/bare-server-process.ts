/**
 * The HTTP benchmarks' baseline: a bare Node `http` server answering every request with the same
 * bytes and headers the service sent for the article page, or, given a location, with the same 302
 * the click redirect sends. Usage: tsx bare-server-process.ts PORT FILE [LOCATION]
 */
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';

const port = Number(process.argv[2]);
const page = readFileSync(process.argv[3] ?? '');
const location = process.argv[4];
createServer((_request, response) => {
  if (location !== undefined) {
    response.writeHead(302, { location, 'cache-control': 'no-store', 'content-length': 0 });
    response.end();
    return;
  }
  response.writeHead(200, {
    'content-type': 'text/html; charset=utf-8',
    'content-length': page.length,
    'cache-control': 'public, max-age=5',
  });
  response.end(page);
}).listen(port, '127.0.0.1', () => {
  process.stdout.write('listening\n');
});
