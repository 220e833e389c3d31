import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from './app-config.js';

const dirs: string[] = [];
function tempDir(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'depeche-config-'));
  dirs.push(dir);
  return dir;
}
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function problems(env: Record<string, string>): readonly string[] {
  try {
    loadConfig({ DATA_DIR: tempDir(), ...env });
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  return [];
}

describe('loadConfig', () => {
  it('needs nothing: embedded database, local Redis, a generated secret kept across boots', () => {
    const dataDir = tempDir();
    const config = loadConfig({ DATA_DIR: dataDir });
    expect(config).toMatchObject({
      role: 'all',
      port: 3000,
      publicUrl: 'http://localhost:3000',
      databaseUrl: undefined,
      redisUrl: 'redis://127.0.0.1:6379',
      redisUrlExplicit: false,
      publication: expect.objectContaining({ timeZone: 'Europe/Paris', locale: 'fr' }),
    });
    expect(config.secretKey).toHaveLength(43);
    expect(readFileSync(path.join(dataDir, 'secret-key'), 'utf8').trim()).toBe(config.secretKey);
    expect(loadConfig({ DATA_DIR: dataDir }).secretKey).toBe(config.secretKey);
  });

  it('reads every setting it is given', () => {
    const config = loadConfig({
      DATA_DIR: tempDir(),
      PORT: '8080',
      PUBLIC_URL: 'https://lettre.example.org/',
      DATABASE_URL: 'postgres://u@db:5432/depeche',
      REDIS_URL: 'redis://cache:6379/2',
      QUEUE_PREFIX: '{depeche}',
      SECRET_KEY: 's'.repeat(40),
      ADMIN_API_TOKEN: 't'.repeat(30),
      PUBLICATION_TIMEZONE: 'America/Montreal',
      LOCALE: 'en',
      ROLE: 'worker',
    });
    expect(config).toMatchObject({
      port: 8080,
      publicUrl: 'https://lettre.example.org',
      databaseUrl: 'postgres://u@db:5432/depeche',
      redisUrl: 'redis://cache:6379/2',
      redisUrlExplicit: true,
      queuePrefix: '{depeche}',
      role: 'worker',
      publication: expect.objectContaining({ locale: 'en' }),
    });
  });

  it('names every bad variable and what it expects, one line each', () => {
    expect(
      problems({
        PORT: 'abc',
        PUBLIC_URL: 'not a url',
        DATABASE_URL: 'mysql://x',
        REDIS_URL: 'http://x',
        ROLE: 'both',
        LOCALE: 'de',
        PUBLICATION_TIMEZONE: 'Mars/Olympus',
        SECRET_KEY: 'short',
        ADMIN_API_TOKEN: 'short',
        QUEUE_PREFIX: 'a b',
        TEASER_WORDS: '-3',
      }),
    ).toEqual([
      'ROLE: expected one of all, api, worker, inbound, got "both"',
      'PORT: expected a whole number from 0 to 65535, got "abc"',
      'PUBLIC_URL: expected a URL (http or https), got "not a url"',
      'DATABASE_URL: expected a postgres or postgresql URL, got "mysql:"',
      'REDIS_URL: expected a redis or rediss URL, got "http:"',
      'QUEUE_PREFIX: expected 1 to 64 letters, digits or "_{}.-" (braces make a Redis Cluster hash tag), got "a b"',
      'SECRET_KEY: expected at least 32 characters, got 5',
      'ADMIN_API_TOKEN: expected at least 24 characters, got 5',
      'PUBLICATION_TIMEZONE: expected an IANA time zone such as Europe/Paris, got "Mars/Olympus"',
      'LOCALE: expected one of fr, en, got "de"',
      'TEASER_WORDS: expected a whole number from 10 to 5000, got "-3"',
    ]);
  });

  it('refuses line breaks and other control characters in any one-line setting', () => {
    expect(
      problems({
        MAIL_FROM: 'Lettre <lettre@exemple.fr>\r\nBcc: tous@exemple.fr',
        MAIL_REPLY_TO: 'redaction@exemple.fr\nX-Injected: 1',
        PUBLICATION_NAME: 'Le Blog\u0000',
        PUBLIC_URL: 'https://blog.exemple.fr/\r\nSet-Cookie: x=1',
      }),
    ).toEqual([
      'PUBLIC_URL: must be one line, without line breaks or other control characters',
      'PUBLICATION_NAME: must be one line, without line breaks or other control characters',
      'MAIL_FROM: must be one line, without line breaks or other control characters',
      'MAIL_REPLY_TO: must be one line, without line breaks or other control characters',
    ]);
    // A PEM key and a postal address may span lines.
    expect(problems({ POSTAL_ADDRESS: '1 rue de la Paix\n75002 Paris' })).toEqual([]);
  });

  it('reads MAIL_REPLY_TO as an address with an optional name', () => {
    const config = loadConfig({
      DATA_DIR: tempDir(),
      MAIL_REPLY_TO: 'Rédaction Dépêche <redaction@exemple.fr>',
    });
    expect(config.publication.replyTo).toEqual({
      name: 'Rédaction Dépêche',
      address: 'redaction@exemple.fr',
    });
    expect(problems({ MAIL_REPLY_TO: 'pas une adresse' })).toEqual([
      'MAIL_REPLY_TO: expected an address or "Name <address>", got "pas une adresse"',
    ]);
  });

  it('refuses a VERP address that already has a +', () => {
    expect(problems({ VERP_ADDRESS: 'bounces+x@example.org' })).toEqual([
      'VERP_ADDRESS: expected a bounce address without a + such as bounces@example.org, got "bounces+x@example.org"',
    ]);
  });

  it('takes inbound mail only for a VERP address, and runs ROLE=inbound only with a port', () => {
    expect(problems({ INBOUND_SMTP_PORT: '2525' })).toEqual([
      'VERP_ADDRESS: required with INBOUND_SMTP_PORT; the listener takes the mail sent to that address (bounces@example.org)',
    ]);
    expect(problems({ INBOUND_SMTP_PORT: 'vingt-cinq', VERP_ADDRESS: 'retours@exemple.fr' })).toEqual([
      'INBOUND_SMTP_PORT: expected a whole number from 0 to 65535, got "vingt-cinq"',
    ]);
    expect(problems({ ROLE: 'inbound', DATABASE_URL: 'postgres://db/depeche' })).toEqual([
      'INBOUND_SMTP_PORT: required when ROLE=inbound; it is the port the listener takes mail on',
    ]);
    expect(problems({ SOFT_BOUNCE_LIMIT: '0' })).toEqual([
      'SOFT_BOUNCE_LIMIT: expected a whole number from 1 to 100, got "0"',
    ]);
  });

  it('requires a database server for split roles and a secret in production', () => {
    expect(problems({ ROLE: 'api' })).toEqual([
      'DATABASE_URL: required when ROLE=api; the embedded database serves a single process (ROLE=all)',
    ]);
    expect(problems({ NODE_ENV: 'production' })).toEqual([
      'SECRET_KEY: required when NODE_ENV=production (at least 32 random characters)',
    ]);
  });

  it('reads a DKIM key inline or from a file, and says what is missing or wrong', () => {
    const pem = (type: 'rsa' | 'ec'): string => {
      const { privateKey } =
        type === 'rsa'
          ? generateKeyPairSync('rsa', { modulusLength: 1024 })
          : generateKeyPairSync('ec', { namedCurve: 'P-256' });
      return privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    };
    const rsa = pem('rsa');
    const inline = loadConfig({
      DATA_DIR: tempDir(),
      MAIL_FROM: 'La lettre <lettre@exemple.fr>',
      DKIM_SELECTOR: 'depeche',
      DKIM_PRIVATE_KEY: rsa.replace(/\n/g, '\\n'),
    });
    expect(inline.dkim).toEqual({ domainName: 'exemple.fr', keySelector: 'depeche', privateKey: rsa });
    const file = path.join(tempDir(), 'dkim.pem');
    writeFileSync(file, rsa);
    expect(
      loadConfig({
        DATA_DIR: tempDir(),
        DKIM_SELECTOR: 's1',
        DKIM_PRIVATE_KEY_FILE: file,
        DKIM_DOMAIN: 'envoi.exemple.fr',
      }).dkim,
    ).toMatchObject({ domainName: 'envoi.exemple.fr', keySelector: 's1' });
    expect(loadConfig({ DATA_DIR: tempDir() }).dkim).toBeUndefined();

    expect(problems({ DKIM_PRIVATE_KEY: rsa })).toEqual([
      'DKIM_SELECTOR: required with a DKIM key (the selector of its DNS record, such as "depeche")',
    ]);
    expect(problems({ DKIM_SELECTOR: 'depeche' })).toEqual([
      'DKIM_PRIVATE_KEY: required with DKIM_SELECTOR (a PEM private key, or DKIM_PRIVATE_KEY_FILE)',
    ]);
    expect(problems({ DKIM_SELECTOR: 'depeche', DKIM_PRIVATE_KEY: 'not a key' })).toEqual([
      'DKIM_PRIVATE_KEY: expected a PEM private key (-----BEGIN PRIVATE KEY----- …)',
    ]);
    expect(problems({ DKIM_SELECTOR: 'depeche', DKIM_PRIVATE_KEY: pem('ec') })).toEqual([
      'DKIM_PRIVATE_KEY: expected an RSA key, got ec',
      'DKIM_DOMAIN: expected the signing domain such as example.org (MAIL_FROM\'s domain when unset), got "localhost"',
    ]);
    expect(problems({ DKIM_SELECTOR: 'depeche', DKIM_PRIVATE_KEY_FILE: '/nonexistent/dkim.pem' })).toEqual([
      'DKIM_PRIVATE_KEY_FILE: cannot read "/nonexistent/dkim.pem" (ENOENT)',
    ]);
  });

  it('takes an optional global send rate', () => {
    expect(loadConfig({ DATA_DIR: tempDir() }).sendRateLimit).toBe(0);
    expect(loadConfig({ DATA_DIR: tempDir(), SEND_RATE_LIMIT: '250' }).sendRateLimit).toBe(250);
    expect(problems({ SEND_RATE_LIMIT: 'fast' })).toEqual([
      'SEND_RATE_LIMIT: expected a whole number from 0 to 1000000, got "fast"',
    ]);
  });

  it('keeps four messages on their way per SMTP session unless told otherwise', () => {
    const sending = (env: Record<string, string>): [number, number] => {
      const config = loadConfig({ DATA_DIR: tempDir(), ...env });
      return [config.smtpMaxConnections, config.sendConcurrency];
    };
    expect(sending({})).toEqual([5, 20]);
    expect(sending({ SMTP_MAX_CONNECTIONS: '12' })).toEqual([12, 48]);
    expect(sending({ SMTP_MAX_CONNECTIONS: '100' })).toEqual([100, 200]);
    expect(sending({ SMTP_MAX_CONNECTIONS: '12', SEND_CONCURRENCY: '7' })).toEqual([12, 7]);
  });

  it('turns payments on with both Stripe secrets, and says what is missing or wrong', () => {
    const off = loadConfig({ DATA_DIR: tempDir(), PUBLIC_URL: 'https://blog.example' });
    expect(off.stripe).toBeUndefined();
    expect(off.premiumUrl).toBe('https://blog.example/');
    const on = loadConfig({
      DATA_DIR: tempDir(),
      PUBLIC_URL: 'https://blog.example',
      STRIPE_SECRET_KEY: 'sk_test_0123456789abcdef',
      STRIPE_WEBHOOK_SECRET: 'whsec_0123456789abcdef',
      STRIPE_API_URL: 'http://stripe-mock:12111',
      STRIPE_PRICE_MONTHLY: 'price_1Month',
    });
    expect(on.stripe).toMatchObject({
      api: { protocol: 'http', host: 'stripe-mock', port: 12111 },
      monthlyPriceId: 'price_1Month',
      yearlyPriceId: undefined,
      dashboardUrl: 'https://dashboard.stripe.com/test',
    });
    // The upgrade buttons lead to the upgrade page, unless PREMIUM_URL says otherwise.
    expect(on.premiumUrl).toBe('https://blog.example/upgrade');
    expect(problems({ STRIPE_SECRET_KEY: 'sk_live_0123456789abcdef' })).toEqual([
      'STRIPE_WEBHOOK_SECRET: expected the signing secret of the webhook endpoint (whsec_…), required with STRIPE_SECRET_KEY',
    ]);
    expect(
      problems({ STRIPE_WEBHOOK_SECRET: 'whsec_0123456789abcdef', STRIPE_SECRET_KEY: 'pk_test_123456789' }),
    ).toEqual([
      'STRIPE_SECRET_KEY: expected a secret or restricted key (sk_live_…, sk_test_…, rk_…), required with STRIPE_WEBHOOK_SECRET',
    ]);
    expect(problems({ STRIPE_PRICE_MONTHLY: 'price_1Month' })).toEqual([
      'STRIPE_PRICE_MONTHLY: has no effect without STRIPE_SECRET_KEY and STRIPE_WEBHOOK_SECRET',
    ]);
    expect(problems({ CURRENCY: 'euro', PAYMENT_GRACE_DAYS: '90' })).toEqual([
      'CURRENCY: expected an ISO 4217 code such as EUR, got "EURO"',
      'PAYMENT_GRACE_DAYS: expected a whole number from 0 to 60, got "90"',
    ]);
  });
});
