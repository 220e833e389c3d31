import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from './helpers/test-app.js';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp();
});
afterAll(async () => {
  await t.close();
});

describe('operations endpoints', () => {
  it('reports the database and Redis healthy', async () => {
    const res = await t.request({ method: 'GET', url: '/health' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({
      status: 'ok',
      info: { database: { status: 'up', engine: t.database.engine }, redis: { status: 'up' } },
    });
    expect(res.headers['cache-control']).toContain('no-store');
  });

  it('exposes Prometheus metrics, including HTTP timings by route', async () => {
    await t.request({ method: 'GET', url: '/' });
    const res = await t.request({ method: 'GET', url: '/metrics' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(res.body).toContain('depeche_process_resident_memory_bytes');
    expect(res.body).toMatch(
      /depeche_http_request_duration_seconds_count\{method="GET",route="\/",status="200"\} \d+/,
    );
  });

  it('serves metrics to this machine only, unless a token is set', async () => {
    const remote = await t.request({ method: 'GET', url: '/metrics', remoteAddress: '203.0.113.9' });
    expect(remote.statusCode).toBe(401);
    expect(remote.json().message).toContain('METRICS_TOKEN');
    expect(remote.body).not.toContain('depeche_');
    const withToken = await startTestApp({ METRICS_TOKEN: 'metrics-token-0123456789abcdef' });
    try {
      const refused = await withToken.request({ method: 'GET', url: '/metrics' });
      expect(refused.statusCode).toBe(401);
      const scraped = await withToken.request({
        method: 'GET',
        url: '/metrics',
        remoteAddress: '203.0.113.9',
        headers: { authorization: 'Bearer metrics-token-0123456789abcdef' },
      });
      expect(scraped.statusCode).toBe(200);
      expect(scraped.body).toContain('depeche_process_resident_memory_bytes');
    } finally {
      await withToken.close();
    }
  });

  it('tells browsers to keep to https when the public URL is https', async () => {
    const res = await t.request({ method: 'GET', url: '/' });
    expect(res.headers['strict-transport-security']).toBe('max-age=31536000');
  });

  it('serves the OpenAPI document and its UI', async () => {
    const doc = await t.request({ method: 'GET', url: '/docs/openapi.json' });
    expect(doc.statusCode).toBe(200);
    const openapi = doc.json();
    expect(openapi.info.title).toBe('Dépêche');
    expect(Object.keys(openapi.paths)).toEqual(
      expect.arrayContaining([
        '/api/articles',
        '/api/articles/{id}',
        '/api/articles/{id}/schedule',
        '/health',
      ]),
    );
    // Dépêche's tokens are opaque random strings, not JWTs.
    const bearer = openapi.components.securitySchemes.bearer;
    expect(bearer).toMatchObject({ type: 'http', scheme: 'bearer' });
    expect(bearer.bearerFormat).toBeUndefined();
    expect(bearer.description).toContain('API token');
    expect(Object.keys(openapi.paths)).not.toContain('/feed.xml');
    const ui = await t.request({ method: 'GET', url: '/docs', headers: { accept: 'text/html' } });
    expect(ui.statusCode).toBe(200);
    expect(ui.body).toContain('swagger-ui');
  });

  it('sends security headers on public pages, errors and API answers alike', async () => {
    const page = await t.request({ method: 'GET', url: '/' });
    expect(page.headers['content-security-policy']).toContain("default-src 'self'");
    expect(page.headers['content-security-policy']).toContain("form-action 'self'");
    expect(page.headers['x-content-type-options']).toBe('nosniff');
    expect(page.headers['referrer-policy']).toBe('same-origin');
    expect(page.headers['x-frame-options']).toBe('SAMEORIGIN');
    for (const url of ['/articles/nothing-here', '/api/articles']) {
      const answer = await t.request({ method: 'GET', url });
      expect(answer.statusCode).toBeGreaterThanOrEqual(400);
      expect(answer.headers['content-security-policy']).toBe(page.headers['content-security-policy']);
      expect(answer.headers['referrer-policy']).toBe('same-origin');
    }
  });
});

describe('health when Redis is gone', () => {
  it('answers 503 and says which part is down', async () => {
    const broken = await startTestApp({ REDIS_URL: 'redis://127.0.0.1:1' });
    try {
      const res = await broken.request({ method: 'GET', url: '/health' });
      expect(res.statusCode).toBe(503);
      expect(res.json()).toMatchObject({
        status: 'error',
        info: { database: { status: 'up' } },
        error: { redis: { status: 'down' } },
      });
    } finally {
      await broken.close();
    }
  });
});
