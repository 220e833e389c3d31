import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { loadConfig } from '../src/config/app-config.js';

interface Service {
  image?: string;
  build?: string;
  command?: string[];
  environment?: Record<string, string>;
  ports?: string[];
  profiles?: string[];
  depends_on?: Record<string, { condition: string }>;
  healthcheck?: { test: string[] };
  stop_grace_period?: string;
}

const root = path.resolve(import.meta.dirname, '..');
const compose = parse(readFileSync(path.join(root, 'docker-compose.yml'), 'utf8'), { merge: true }) as {
  services: Record<string, Service>;
  volumes: Record<string, unknown>;
};
const { api, worker, inbound, postgres, redis, mailpit, 'stripe-mock': stripeMock } = compose.services;

/** What `docker compose` does to ${VAR:-default} and ${VAR:?error} with the given .env values. */
function interpolate(env: Record<string, string>, dotenv: Record<string, string>): Record<string, string> {
  return Object.fromEntries(
    Object.entries(env).map(([key, value]) => [
      key,
      value.replace(/\$\{(\w+)(?::([-?])([^}]*))?\}/g, (_m, name: string, op?: string, arg?: string) => {
        const given = dotenv[name];
        if (given) return given;
        if (op === '?') throw new Error(`${name}: ${arg}`);
        return arg ?? '';
      }),
    ]),
  );
}

describe('docker-compose.yml', () => {
  it('has the app, a separate worker, Redis, PostgreSQL and a mail catcher with a web UI', () => {
    expect(Object.keys(compose.services).sort()).toEqual([
      'api',
      'inbound',
      'mailpit',
      'postgres',
      'redis',
      'stripe-mock',
      'worker',
    ]);
    expect(api!.build).toBe('.');
    expect(worker!.image).toBe(api!.image);
    expect(api!.environment!.ROLE).toBe('api');
    expect(worker!.environment!.ROLE).toBe('worker');
    expect(worker!.ports).toBeUndefined();
    expect(mailpit!.ports).toContain('8025:8025');
  });

  it('runs Redis with AOF on and no eviction, as the queues need', () => {
    const command = redis!.command!.join(' ');
    expect(command).toContain('--appendonly yes');
    expect(command).toContain('--maxmemory-policy noeviction');
  });

  it('points both processes at the same database, Redis, queues, mail and secret', () => {
    const shared = ['DATABASE_URL', 'REDIS_URL', 'QUEUE_PREFIX', 'SMTP_URL', 'SECRET_KEY', 'PUBLIC_URL'];
    for (const key of shared) expect(worker!.environment![key], key).toBe(api!.environment![key]);
    const database = new URL(api!.environment!.DATABASE_URL!);
    expect(database.hostname).toBe('postgres');
    expect(database.username).toBe(postgres!.environment!.POSTGRES_USER);
    expect(database.password).toBe(postgres!.environment!.POSTGRES_PASSWORD);
    expect(database.pathname).toBe(`/${postgres!.environment!.POSTGRES_DB}`);
    expect(new URL(api!.environment!.REDIS_URL!).hostname).toBe('redis');
    expect(new URL(api!.environment!.SMTP_URL!).host).toBe('mailpit:1025');
    for (const service of [api!, worker!]) {
      expect(service.depends_on!.postgres!.condition).toBe('service_healthy');
      expect(service.depends_on!.redis!.condition).toBe('service_healthy');
    }
  });

  it('gives each process a configuration that boots, and refuses to start without a secret', () => {
    const dataDir = mkdtempSync(path.join(tmpdir(), 'depeche-compose-'));
    try {
      const dotenv = { SECRET_KEY: 'k'.repeat(48), ADMIN_API_TOKEN: 'a'.repeat(32) };
      const apiConfig = loadConfig({ ...interpolate(api!.environment!, dotenv), DATA_DIR: dataDir });
      const workerConfig = loadConfig({ ...interpolate(worker!.environment!, dotenv), DATA_DIR: dataDir });
      expect(apiConfig.role).toBe('api');
      expect(workerConfig.role).toBe('worker');
      expect(apiConfig.production).toBe(true);
      expect(() => interpolate(api!.environment!, {})).toThrow(/SECRET_KEY/);
      // Payments stay off without keys, and reach stripe-mock with the development ones.
      expect(apiConfig.stripe).toBeUndefined();
      const withStripe = loadConfig({
        ...interpolate(api!.environment!, {
          ...dotenv,
          STRIPE_SECRET_KEY: 'sk_test_123456789abc',
          STRIPE_WEBHOOK_SECRET: 'whsec_123456789abc',
          STRIPE_API_URL: 'http://stripe-mock:12111',
        }),
        DATA_DIR: dataDir,
      });
      expect(withStripe.stripe?.api).toEqual({ protocol: 'http', host: 'stripe-mock', port: 12111 });
      expect(stripeMock!.ports).toContain('12111:12111');
      expect(stripeMock!.profiles).toEqual(['payments']);
      // The inbound listener (profile inbound) boots with a VERP address, and says so without one.
      expect(inbound!.profiles).toEqual(['inbound']);
      expect(inbound!.ports).toContain('25:2525');
      const inboundConfig = loadConfig({
        ...interpolate(inbound!.environment!, { ...dotenv, VERP_ADDRESS: 'retours@exemple.fr' }),
        DATA_DIR: dataDir,
      });
      expect(inboundConfig).toMatchObject({
        role: 'inbound',
        inbound: { port: 2525 },
        verpAddress: 'retours@exemple.fr',
      });
      expect(() => loadConfig({ ...interpolate(inbound!.environment!, dotenv), DATA_DIR: dataDir })).toThrow(
        /VERP_ADDRESS: required with INBOUND_SMTP_PORT/,
      );
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('has an image that carries the templates and migrations the app reads at run time', () => {
    const dockerfile = readFileSync(path.join(root, 'Dockerfile'), 'utf8');
    expect(dockerfile).toMatch(/^COPY templates \.\/templates$/m);
    expect(dockerfile).toMatch(/^COPY src\/database\/migrations \.\/src\/database\/migrations$/m);
    expect(dockerfile).toMatch(/^CMD \["node", "dist\/main\.js"\]$/m);
    expect(api!.healthcheck!.test.join(' ')).toContain('/health');
    expect(dockerfile).toMatch(/^FROM node:24-/m);
  });

  it("checks the worker's health, gives both processes longer than their drain to stop, and pins images", () => {
    const check = worker!.healthcheck!.test;
    expect(check.slice(1)).toEqual(['node', 'dist/worker/heartbeat-check.js']);
    expect(existsSync(path.join(root, 'src', 'worker', 'heartbeat-check.ts'))).toBe(true);
    const drainSeconds = loadConfig({ DATA_DIR: tmpdir() }).shutdownTimeoutMs / 1000;
    for (const service of [api!, worker!]) {
      expect(Number.parseInt(service.stop_grace_period ?? '10s', 10)).toBeGreaterThan(drainSeconds);
    }
    for (const service of [postgres!, redis!, mailpit!, stripeMock!]) {
      expect(service.image).toMatch(/:v?\d+\.\d+(\.\d+)?$/);
    }
  });

  it('keeps secrets and local data out of the image build', () => {
    const ignored = readFileSync(path.join(root, '.dockerignore'), 'utf8').split('\n');
    for (const entry of ['.env', '.env.*', 'var', 'node_modules', 'dist', '.git'])
      expect(ignored).toContain(entry);
  });
});
