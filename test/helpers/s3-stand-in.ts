import { createHash, createHmac } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One object as the bucket keeps it. */
export interface StoredObject {
  readonly body: Buffer;
  readonly type: string | undefined;
  readonly cacheControl: string | undefined;
}

export interface S3StandIn {
  /** S3_ENDPOINT for the service. */
  readonly endpoint: string;
  readonly bucket: string;
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  /** Objects by key. */
  readonly objects: Map<string, StoredObject>;
  /** Every request, as "METHOD key", and every refusal, as "403 …". */
  readonly log: string[];
  /** While true, every request is answered 503, as a service in trouble answers. */
  failing: boolean;
  close(): Promise<void>;
}

/** RFC 3986 encoding, as SigV4's canonical query string wants it. */
function uriEncode(text: string): string {
  return encodeURIComponent(text).replace(
    /[!'()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
}

const hmac = (key: Buffer | string, data: string): Buffer => createHmac('sha256', key).update(data).digest();
const sha256 = (data: Buffer | string): string => createHash('sha256').update(data).digest('hex');

/**
 * Why a request's AWS Signature Version 4 does not hold, or undefined when it does: the canonical
 * request rebuilt from what arrived, signed with the stand-in's secret, as S3 checks it.
 * https://docs.aws.amazon.com/IAM/latest/UserGuide/create-signed-request.html
 */
function signatureProblem(
  request: IncomingMessage,
  body: Buffer,
  accessKeyId: string,
  secretAccessKey: string,
): string | undefined {
  const authorization = request.headers.authorization ?? '';
  const match =
    /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/s3\/aws4_request, ?SignedHeaders=([a-z0-9;-]+), ?Signature=([0-9a-f]{64})$/.exec(
      authorization,
    );
  if (!match) return `no SigV4 authorization: "${authorization}"`;
  const [, keyId, day, region, signedHeaders, signature] = match as unknown as string[];
  if (keyId !== accessKeyId) return `unknown access key ${keyId}`;
  const amzDate = String(request.headers['x-amz-date'] ?? '');
  if (!amzDate.startsWith(day!)) return 'x-amz-date is not the credential’s day';
  const payloadHash = String(request.headers['x-amz-content-sha256'] ?? '');
  if (payloadHash !== 'UNSIGNED-PAYLOAD' && payloadHash !== sha256(body))
    return 'the body is not the one signed';
  const names = signedHeaders!.split(';');
  if (!names.includes('host') || !names.includes('x-amz-date')) return 'host and x-amz-date must be signed';
  const url = new URL(request.url ?? '/', 'http://stand-in');
  const query = [...url.searchParams]
    .map(([key, value]) => [uriEncode(key), uriEncode(value)] as const)
    .sort(([a, x], [b, y]) => (a === b ? (x < y ? -1 : 1) : a < b ? -1 : 1))
    .map(([key, value]) => `${key}=${value}`)
    .join('&');
  const headers = names.map((name) => {
    const value = request.headers[name];
    return `${name}:${(Array.isArray(value) ? value.join(',') : (value ?? '')).trim().replace(/\s+/g, ' ')}\n`;
  });
  const canonical = [request.method, url.pathname, query, headers.join(''), signedHeaders, payloadHash].join(
    '\n',
  );
  const scope = `${day}/${region}/s3/aws4_request`;
  const toSign = ['AWS4-HMAC-SHA256', amzDate, scope, sha256(canonical)].join('\n');
  const key = hmac(hmac(hmac(hmac(`AWS4${secretAccessKey}`, day!), region!), 's3'), 'aws4_request');
  return hmac(key, toSign).toString('hex') === signature ? undefined : 'SignatureDoesNotMatch';
}

function fail(response: ServerResponse, status: number, code: string, head = false): void {
  response.writeHead(status, { 'content-type': 'application/xml' });
  response.end(
    head ? undefined : `<?xml version="1.0" encoding="UTF-8"?><Error><Code>${code}</Code></Error>`,
  );
}

/**
 * A bucket on 127.0.0.1 that answers path-style PUT, GET and HEAD of objects as S3 does, and
 * refuses any request whose SigV4 signature does not hold: the SDK is tested against a second,
 * independent reading of the signing rules.
 */
export async function startS3StandIn(bucket = 'depeche-media'): Promise<S3StandIn> {
  const objects = new Map<string, StoredObject>();
  const log: string[] = [];
  const accessKeyId = 'AKIADEPECHETEST00001';
  const secretAccessKey = 'stand-in-secret/key+for+tests0000000000000';
  const state = { failing: false };
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const body = Buffer.concat(chunks);
      const head = request.method === 'HEAD';
      const path = decodeURIComponent(new URL(request.url ?? '/', 'http://stand-in').pathname);
      const prefix = `/${bucket}/`;
      if (!path.startsWith(prefix)) {
        fail(response, 404, 'NoSuchBucket', head);
        return;
      }
      const key = path.slice(prefix.length);
      log.push(`${request.method} ${key}`);
      if (state.failing) {
        fail(response, 503, 'ServiceUnavailable', head);
        return;
      }
      const problem = signatureProblem(request, body, accessKeyId, secretAccessKey);
      if (problem) {
        log.push(`403 ${problem}`);
        fail(
          response,
          403,
          problem.startsWith('unknown') ? 'InvalidAccessKeyId' : 'SignatureDoesNotMatch',
          head,
        );
        return;
      }
      if (request.method === 'PUT') {
        const type = request.headers['content-type'];
        const cacheControl = request.headers['cache-control'];
        objects.set(key, { body, type, cacheControl });
        response.writeHead(200, { etag: `"${createHash('md5').update(body).digest('hex')}"` });
        return response.end();
      }
      if (request.method === 'GET' || head) {
        const object = objects.get(key);
        if (!object) {
          fail(response, 404, 'NoSuchKey', head);
          return;
        }
        response.writeHead(200, {
          'content-length': object.body.length,
          ...(object.type ? { 'content-type': object.type } : {}),
        });
        return response.end(head ? undefined : object.body);
      }
      fail(response, 405, 'MethodNotAllowed');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return Object.assign(state, {
    endpoint: `http://127.0.0.1:${port}`,
    bucket,
    accessKeyId,
    secretAccessKey,
    objects,
    log,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => {
          resolve();
        });
      }),
  });
}
