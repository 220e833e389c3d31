import { existsSync } from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config/app-config.js';
import { type S3StandIn, startS3StandIn } from './helpers/s3-stand-in.js';
import { startTestApp, TEST_TOKEN, type TestApp } from './helpers/test-app.js';

/** A landscape photo, a little different each time it is asked for. */
function photo(shade: string): Promise<Buffer> {
  return sharp({ create: { width: 1400, height: 900, channels: 3, background: shade } })
    .jpeg()
    .toBuffer();
}

function upload(t: TestApp, body: Buffer, alt = 'Le souk d’Alep au matin') {
  return t.request({
    method: 'POST',
    url: `/api/media?alt=${encodeURIComponent(alt)}`,
    headers: { authorization: `Bearer ${TEST_TOKEN}`, 'content-type': 'image/jpeg' },
    payload: body,
  });
}

describe('images in an S3-compatible bucket', () => {
  let bucket: S3StandIn;
  let t: TestApp;
  let other: TestApp;
  const s3Env = (secret?: string) => ({
    S3_BUCKET: bucket.bucket,
    S3_ENDPOINT: bucket.endpoint,
    S3_REGION: 'eu-west-3',
    S3_ACCESS_KEY_ID: bucket.accessKeyId,
    S3_SECRET_ACCESS_KEY: secret ?? bucket.secretAccessKey,
  });

  beforeAll(async () => {
    bucket = await startS3StandIn();
    t = await startTestApp(s3Env());
    // Another machine of the deployment: its own DATA_DIR, the same bucket.
    other = await startTestApp(s3Env());
  });
  afterAll(async () => {
    await t.close();
    await other.close();
    await bucket.close();
  });

  it('stores every width in the bucket, signed, and nothing under DATA_DIR', async () => {
    const uploaded = await upload(t, await photo('#7a5c3e'));
    expect(uploaded.statusCode).toBe(201);
    const { address } = uploaded.json<{ address: string }>();
    const id = /\/media\/([0-9a-f]{16})\/1400x900\.jpg$/.exec(address)?.[1];
    expect(id).toBeDefined();
    expect([...bucket.objects.keys()].sort()).toEqual(
      ['480.jpg', '480.webp', '960.webp', '960.jpg', '1400.jpg', '1400.webp', 'complete']
        .map((name) => `media/${id}/${name}`)
        .sort(),
    );
    expect(bucket.objects.get(`media/${id}/960.webp`)).toMatchObject({
      type: 'image/webp',
      cacheControl: 'public, max-age=31536000, immutable',
    });
    expect(bucket.log.filter((line) => line.startsWith('403'))).toEqual([]);
    expect(existsSync(path.join(t.config.dataDir, 'media'))).toBe(false);

    // Served by this process and by the other one, byte for byte what the bucket holds.
    for (const app of [t, other]) {
      const served = await app.request({ method: 'GET', url: `/media/${id}/960.webp` });
      expect(served.statusCode).toBe(200);
      expect(served.headers['content-type']).toBe('image/webp');
      expect(served.headers['cache-control']).toBe('public, max-age=31536000, immutable');
      expect(served.rawPayload.equals(bucket.objects.get(`media/${id}/960.webp`)!.body)).toBe(true);
      const original = await app.request({ method: 'GET', url: `/media/${id}/1400x900.jpg` });
      expect((await sharp(original.rawPayload).metadata()).width).toBe(1400);
      expect((await app.request({ method: 'GET', url: `/media/${id}/1600.jpg` })).statusCode).toBe(404);
      expect((await app.request({ method: 'GET', url: `/media/${id}/complete` })).statusCode).toBe(404);
    }

    // The same image again: found in the bucket, nothing written twice.
    const writes = bucket.log.filter((line) => line.startsWith('PUT')).length;
    expect((await upload(other, await photo('#7a5c3e'))).json<{ address: string }>().address).toBe(address);
    expect(bucket.log.filter((line) => line.startsWith('PUT')).length).toBe(writes);
  });

  it('answers 503 while the bucket fails, stays up, and stores once the bucket is back', async () => {
    bucket.failing = true;
    try {
      const refused = await upload(t, await photo('#2e4d6b'));
      expect(refused.statusCode).toBe(503);
      expect(refused.json().message).toContain('S3_BUCKET');
      const [stored] = bucket.objects.keys();
      const image = await t.request({ method: 'GET', url: `/${stored!.replace('complete', '480.jpg')}` });
      expect(image.statusCode).toBe(503);
      expect((await t.request({ method: 'GET', url: '/health' })).statusCode).toBe(200);
    } finally {
      bucket.failing = false;
    }
    const stored = await upload(t, await photo('#2e4d6b'));
    expect(stored.statusCode).toBe(201);
  });

  it('says so when the bucket refuses the credentials, and keeps nothing half-stored', async () => {
    const wrong = await startTestApp(s3Env('not-the-secret-key-at-all-0000000000000000'));
    try {
      const before = bucket.objects.size;
      const refused = await upload(wrong, await photo('#5b8c5a'));
      expect(refused.statusCode).toBe(503);
      expect(bucket.log.some((line) => line === '403 SignatureDoesNotMatch')).toBe(true);
      expect(bucket.objects.size).toBe(before);
    } finally {
      await wrong.close();
    }
  });

  it('refuses at boot an S3 setting without its bucket or half a key pair', () => {
    expect(() => loadConfig({ S3_ENDPOINT: 'http://127.0.0.1:9000', DATA_DIR: t.config.dataDir })).toThrow(
      /S3_ENDPOINT: has no effect without S3_BUCKET/,
    );
    expect(() =>
      loadConfig({ S3_BUCKET: 'depeche-media', S3_ACCESS_KEY_ID: 'AKIA0000', DATA_DIR: t.config.dataDir }),
    ).toThrow(/S3_SECRET_ACCESS_KEY: required with S3_ACCESS_KEY_ID/);
    expect(() => loadConfig({ S3_BUCKET: 'Mon_Bucket', DATA_DIR: t.config.dataDir })).toThrow(
      /S3_BUCKET: expected a bucket name/,
    );
  });
});
