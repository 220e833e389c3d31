/**
 * The page benchmark's baseline: a bare Node `http` server answering every request with the same
 * bytes and headers the service sent for the article page. Usage: tsx bare-server-process.ts PORT FILE
 */
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';

const port = Number(process.argv[2]);
const page = readFileSync(process.argv[3] ?? '');
createServer((_request, response) => {
  response.writeHead(200, {
    'content-type': 'text/html; charset=utf-8',
    'content-length': page.length,
    'cache-control': 'public, max-age=5',
  });
  response.end(page);
}).listen(port, '127.0.0.1', () => {
  process.stdout.write('listening\n');
});
