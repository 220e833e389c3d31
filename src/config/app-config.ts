import { createPrivateKey, createPublicKey, randomBytes } from 'node:crypto';
import { domainOf } from '../lib/email-address.js';
import { isSingleLine } from '../lib/single-line.js';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { isValidTimeZone } from '../lib/time-zone.js';
import { TEMPLATES_DIR } from './paths.js';

export const ROLES = ['all', 'api', 'worker', 'inbound'] as const;
export type Role = (typeof ROLES)[number];

export const LOCALES = ['fr', 'en'] as const;
export type Locale = (typeof LOCALES)[number];

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];
export const LOG_FORMATS = ['json', 'pretty'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

export interface AppConfig {
  readonly production: boolean;
  readonly role: Role;
  readonly port: number;
  readonly host: string;
  /** Absolute origin used in links, feeds and emails, without a trailing slash. */
  readonly publicUrl: string;
  /** Who the publication is, as the environment says: what the desk's settings start from. */
  readonly publication: PublicationEnvironment;
  readonly dataDir: string;
  /** Uploaded images in an S3-compatible bucket; undefined keeps them under DATA_DIR/media. */
  readonly s3: S3Settings | undefined;
  /** Page and email templates: the shipped ones, or a publication's own copy. */
  readonly templatesDir: string;
  /** Unset: the embedded PGlite database under dataDir. */
  readonly databaseUrl: string | undefined;
  readonly redisUrl: string;
  /** Whether REDIS_URL was given: a private redis-server is only started for the default address. */
  readonly redisUrlExplicit: boolean;
  readonly queuePrefix: string;
  readonly secretKey: string;
  /** Earlier secrets, still accepted when verifying links already sent. */
  readonly previousSecretKeys: readonly string[];
  /** Unset: messages are written as .eml files to DATA_DIR/outbox. */
  readonly smtpUrl: string | undefined;
  /** With it, each message's envelope sender is this address with the subscriber id after a + (VERP). */
  readonly verpAddress: string | undefined;
  /** The SMTP listener that takes bounces, complaints and mailed unsubscribes; undefined: off. */
  readonly inbound: InboundSettings | undefined;
  /** The sending relays whose bounce and complaint webhooks are taken, each as it signs them. */
  readonly relays: RelaySettings;
  /** DKIM signing of every message sent, when a selector and a key are set. */
  readonly dkim: DkimSettings | undefined;
  /** How long each API process keeps a rendered public page; 0 renders every request. */
  readonly pageCacheSeconds: number;
  /** SMTP sessions each process keeps open. */
  readonly smtpMaxConnections: number;
  /** At most this many messages a second handed to SMTP, across every worker; 0 for no limit. */
  readonly sendRateLimit: number;
  /** Fastify's trustProxy: whether and how far to believe X-Forwarded-For for client addresses. */
  readonly trustProxy: boolean | number | string;
  readonly confirmTokenTtlHours: number;
  /** Subscribe requests per client address per window. */
  readonly subscribeRateLimit: { readonly max: number; readonly windowSeconds: number };
  /** Sign-in attempts to the editor's desk per client address, and per account, per window. */
  readonly signInRateLimit: { readonly max: number; readonly windowSeconds: number };
  /** An editor's desk session ends after this long without a request. */
  readonly sessionIdleSeconds: number;
  readonly welcomeEmail: boolean;
  /** Where every invitation to go premium leads: PREMIUM_URL, else the upgrade page with payments on. */
  readonly premiumUrl: string;
  /** Payments through Stripe; undefined leaves them off. */
  readonly stripe: StripeSettings | undefined;
  /** ISO 4217 code, upper case: what prices are in. */
  readonly currency: string;
  /** How long a member whose payment failed stays premium while they update their card. */
  readonly paymentGraceDays: number;
  /** Publishing an article creates its edition and schedules it at once. */
  readonly editionOnPublish: boolean;
  /** Messages one worker has on their way to SMTP at once (composed, waiting for a session, or out). */
  readonly sendConcurrency: number;
  /** How long a claimed ledger row stays its worker's before another may send it (after a crash). */
  readonly deliveryLeaseSeconds: number;
  /** First retry delay of a batch that met temporary failures; doubles each time. */
  readonly retryBaseDelayMs: number;
  /** Attempts per recipient before a temporary failure counts as final. */
  readonly maxDeliveryAttempts: number;
  readonly adminApiToken: string | undefined;
  /** Bearer token for /metrics from anywhere; unset, only this machine may read it. */
  readonly metricsToken: string | undefined;
  readonly logLevel: LogLevel;
  /** One JSON object per line (production's default, for collectors), or lines for people. */
  readonly logFormat: LogFormat;
  readonly teaserWords: number;
  readonly pageSize: number;
  readonly tickIntervalMs: number;
  /** How long a shutdown may take before the process exits anyway. */
  readonly shutdownTimeoutMs: number;
  readonly maxBodyBytes: number;
  /** PATH, to find a redis-server to start when none runs. */
  readonly searchPath: string;
}

/**
 * The publication's identity and habits as the environment sets them. Nothing reads these but the
 * settings (src/settings/publication.ts), which lay what an editor saved on the desk over them.
 */
export interface PublicationEnvironment {
  readonly name: string;
  readonly description: string;
  readonly mailFrom: { readonly name: string; readonly address: string };
  readonly replyTo: { readonly name: string; readonly address: string } | undefined;
  /** Shown in every email footer, as anti-spam laws ask. */
  readonly postalAddress: string;
  readonly locale: Locale;
  readonly timeZone: string;
  /** An address that soft-bounces in this many consecutive editions is suppressed. */
  readonly softBounceLimit: number;
  /** How long what came back about a reader's messages is kept before it is folded into totals. */
  readonly eventRetentionDays: number;
}

export interface StripeSettings {
  readonly secretKey: string;
  readonly webhookSecret: string;
  /** Another API server (stripe-mock in development); unset, Stripe's own. */
  readonly api:
    { readonly protocol: 'http' | 'https'; readonly host: string; readonly port: number } | undefined;
  /** Prices named in the environment; the desk's, when unset. */
  readonly monthlyPriceId: string | undefined;
  readonly yearlyPriceId: string | undefined;
  /** Where an editor sees a customer: the test-mode dashboard for test keys. */
  readonly dashboardUrl: string;
}

export interface InboundSettings {
  readonly port: number;
  readonly host: string;
  /** Larger messages are refused while they arrive: a bounce quoting a whole edition fits well under. */
  readonly maxBytes: number;
  /** Messages one client address may hand over per minute; more are deferred (451), not lost. */
  readonly perMinute: number;
}

export interface RelaySettings {
  /** Amazon SES through SNS: the topics whose notifications are taken (any other is refused). */
  readonly ses:
    | {
        readonly topicArns: readonly string[];
        /** Where signing certificates may come from besides AWS's own hosts (a test's stand-in). */
        readonly certificateOrigin: string | undefined;
      }
    | undefined;
  /** Postmark calls with these basic-auth credentials, put in the webhook's URL. */
  readonly postmark: { readonly user: string; readonly password: string } | undefined;
  /** Mailgun's HTTP webhook signing key. */
  readonly mailgunSigningKey: string | undefined;
  /** SendGrid's signed Event Webhook verification key: base64 DER of an ECDSA P-256 public key. */
  readonly sendgridPublicKey: string | undefined;
}

export interface DkimSettings {
  readonly domainName: string;
  readonly keySelector: string;
  /** PEM. */
  readonly privateKey: string;
}

export interface S3Settings {
  readonly bucket: string;
  /** Where an S3-compatible service answers (MinIO, R2, Scaleway…); undefined: AWS itself. */
  readonly endpoint: string | undefined;
  readonly region: string;
  /** bucket.host/key (AWS's way) or host/bucket/key (most other services'). */
  readonly forcePathStyle: boolean;
  /** Unset: the AWS SDK's own chain (AWS_ACCESS_KEY_ID, a profile, an instance role). */
  readonly credentials: { readonly accessKeyId: string; readonly secretAccessKey: string } | undefined;
  /** Put before every key, so that one bucket may hold other things too. */
  readonly prefix: string;
}

export type Env = Readonly<Record<string, string | undefined>>;

/** Thrown with every problem found, so one boot shows them all. */
export class ConfigError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/** The only settings that may span lines; every other value ends up in a header, a URL or a page. */
const MULTILINE_SETTINGS = new Set(['DKIM_PRIVATE_KEY', 'POSTAL_ADDRESS']);

/** "Name <address>" or a bare address, as MAIL_FROM and MAIL_REPLY_TO are written. */
function parseMailbox(text: string): { name: string; address: string } | undefined {
  const match = /^\s*(?:"?([^"<]*?)"?\s*<([^<>\s]+@[^<>\s]+)>|([^<>\s]+@[^<>\s]+))\s*$/.exec(text);
  if (!match) return undefined;
  return { name: match[1]?.trim() ?? '', address: match[2] ?? match[3] ?? '' };
}

class EnvReader {
  readonly problems: string[] = [];

  constructor(private readonly env: Env) {}

  private problem(text: string): void {
    if (!this.problems.includes(text)) this.problems.push(text);
  }

  raw(name: string): string | undefined {
    const value = this.env[name]?.trim();
    if (value === undefined || value === '') return undefined;
    if (!MULTILINE_SETTINGS.has(name) && !isSingleLine(value)) {
      // A line break here would reach a mail header or a page as it is.
      this.problem(`${name}: must be one line, without line breaks or other control characters`);
      return undefined;
    }
    return value;
  }

  /** An address, or "Name <address>". */
  mailbox(name: string, fallback: string): { name: string; address: string };
  mailbox(name: string, fallback: undefined): { name: string; address: string } | undefined;
  mailbox(name: string, fallback: string | undefined): { name: string; address: string } | undefined {
    const text = this.raw(name) ?? fallback;
    if (text === undefined) return undefined;
    const mailbox = parseMailbox(text);
    if (!mailbox) {
      this.problem(`${name}: expected an address or "Name <address>", got "${text}"`);
      return { name: '', address: '' };
    }
    return mailbox;
  }

  string(name: string, fallback: string): string {
    return this.raw(name) ?? fallback;
  }

  integer(name: string, fallback: number, min: number, max: number): number {
    const value = this.raw(name);
    if (value === undefined) return fallback;
    const parsed = /^\d+$/.test(value) ? Number(value) : NaN;
    if (!Number.isSafeInteger(parsed) || parsed < min || parsed > max) {
      this.problems.push(`${name}: expected a whole number from ${min} to ${max}, got "${value}"`);
      return fallback;
    }
    return parsed;
  }

  oneOf<T extends string>(name: string, allowed: readonly T[], fallback: T): T {
    const value = this.raw(name);
    if (value === undefined) return fallback;
    if ((allowed as readonly string[]).includes(value)) return value as T;
    this.problems.push(`${name}: expected one of ${allowed.join(', ')}, got "${value}"`);
    return fallback;
  }

  /** "requests/seconds", such as 10/600. */
  rateLimit(name: string, fallback: `${number}/${number}`): { max: number; windowSeconds: number } {
    const parse = (text: string): { max: number; windowSeconds: number } | undefined => {
      const match = /^(\d{1,6})\/(\d{1,7})$/.exec(text);
      const [max, windowSeconds] = [Number(match?.[1] ?? 0), Number(match?.[2] ?? 0)];
      return max >= 1 && windowSeconds >= 1 ? { max, windowSeconds } : undefined;
    };
    const value = this.string(name, fallback);
    const parsed = parse(value);
    if (parsed) return parsed;
    this.problems.push(`${name}: expected "requests/seconds" such as ${fallback}, got "${value}"`);
    return parse(fallback) ?? { max: 1, windowSeconds: 1 };
  }

  url(name: string, fallback: string | undefined, protocols: readonly string[]): string | undefined {
    const value = this.raw(name) ?? fallback;
    if (value === undefined) return undefined;
    let parsed: URL;
    try {
      parsed = new URL(value);
    } catch {
      this.problems.push(`${name}: expected a URL (${protocols.join(' or ')}), got "${value}"`);
      return value;
    }
    if (!protocols.includes(parsed.protocol.replace(/:$/, ''))) {
      this.problems.push(`${name}: expected a ${protocols.join(' or ')} URL, got "${parsed.protocol}"`);
    }
    return value;
  }
}

/** Each relay's webhook is on when its secret is set; a malformed secret stops the boot. */
function readRelays(read: EnvReader): RelaySettings {
  const arns = (read.raw('SES_SNS_TOPIC_ARNS') ?? '')
    .split(',')
    .map((arn) => arn.trim())
    .filter((arn) => arn !== '');
  const badArn = arns.find((arn) => !/^arn:aws[\w-]*:sns:[a-z0-9-]+:\d{12}:[\w.-]+$/.test(arn));
  if (badArn !== undefined)
    read.problems.push(
      `SES_SNS_TOPIC_ARNS: expected SNS topic ARNs such as arn:aws:sns:eu-west-3:123456789012:ses-feedback, got "${badArn}"`,
    );
  const certificateOrigin = read.url('SES_SNS_CERTIFICATE_ORIGIN', undefined, ['http', 'https']);
  const postmarkAuth = read.raw('POSTMARK_WEBHOOK_AUTH');
  const colon = postmarkAuth?.indexOf(':') ?? -1;
  if (postmarkAuth !== undefined && (colon < 1 || postmarkAuth.length - colon - 1 < 16))
    read.problems.push(
      'POSTMARK_WEBHOOK_AUTH: expected "user:password" with a password of at least 16 characters, as put in the webhook URL',
    );
  const mailgunSigningKey = read.raw('MAILGUN_WEBHOOK_SIGNING_KEY');
  if (mailgunSigningKey !== undefined && mailgunSigningKey.length < 16)
    read.problems.push(
      'MAILGUN_WEBHOOK_SIGNING_KEY: expected the HTTP webhook signing key from Mailgun (at least 16 characters)',
    );
  const sendgridPublicKey = read.raw('SENDGRID_WEBHOOK_PUBLIC_KEY');
  if (sendgridPublicKey !== undefined) {
    let type: string | undefined;
    try {
      type = createPublicKey({
        key: Buffer.from(sendgridPublicKey, 'base64'),
        format: 'der',
        type: 'spki',
      }).asymmetricKeyType;
    } catch {
      type = undefined;
    }
    if (type !== 'ec')
      read.problems.push(
        'SENDGRID_WEBHOOK_PUBLIC_KEY: expected the verification key SendGrid shows for its signed Event Webhook (base64 of an ECDSA public key)',
      );
  }
  return {
    ses: arns.length > 0 ? { topicArns: arns, certificateOrigin } : undefined,
    postmark:
      postmarkAuth !== undefined && colon > 0
        ? { user: postmarkAuth.slice(0, colon), password: postmarkAuth.slice(colon + 1) }
        : undefined,
    mailgunSigningKey,
    sendgridPublicKey,
  };
}

/** S3_BUCKET turns the bucket on; the other S3_ settings only tell how to reach it. */
function readS3(read: EnvReader): S3Settings | undefined {
  const bucket = read.raw('S3_BUCKET');
  const endpoint = read.url('S3_ENDPOINT', undefined, ['http', 'https']);
  const region = read.string('S3_REGION', 'us-east-1');
  const pathStyle = read.oneOf('S3_FORCE_PATH_STYLE', ['true', 'false'], endpoint ? 'true' : 'false');
  const accessKeyId = read.raw('S3_ACCESS_KEY_ID');
  const secretAccessKey = read.raw('S3_SECRET_ACCESS_KEY');
  const prefix = read.string('S3_PREFIX', 'media/');
  if (bucket === undefined) {
    for (const name of [
      'S3_ENDPOINT',
      'S3_REGION',
      'S3_FORCE_PATH_STYLE',
      'S3_ACCESS_KEY_ID',
      'S3_SECRET_ACCESS_KEY',
      'S3_PREFIX',
    ])
      if (read.raw(name) !== undefined) read.problems.push(`${name}: has no effect without S3_BUCKET`);
    return undefined;
  }
  // The rules every S3-compatible service keeps: 3 to 63 lower-case letters, digits, dots, hyphens.
  if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket))
    read.problems.push(`S3_BUCKET: expected a bucket name such as depeche-media, got "${bucket}"`);
  if (!/^[a-z0-9-]{2,40}$/.test(region))
    read.problems.push(`S3_REGION: expected a region such as eu-west-3 (or auto), got "${region}"`);
  if ((accessKeyId === undefined) !== (secretAccessKey === undefined))
    read.problems.push(
      `${accessKeyId === undefined ? 'S3_ACCESS_KEY_ID' : 'S3_SECRET_ACCESS_KEY'}: required with ${accessKeyId === undefined ? 'S3_SECRET_ACCESS_KEY' : 'S3_ACCESS_KEY_ID'} (or neither, for the AWS SDK's own credentials)`,
    );
  if (!/^(?:[\w.!*'()-]+\/)*$/.test(prefix))
    read.problems.push(`S3_PREFIX: expected a folder such as media/ (ending in /), got "${prefix}"`);
  return {
    bucket,
    endpoint,
    region,
    forcePathStyle: pathStyle === 'true',
    credentials:
      accessKeyId !== undefined && secretAccessKey !== undefined
        ? { accessKeyId, secretAccessKey }
        : undefined,
    prefix,
  };
}

/** DKIM_SELECTOR with DKIM_PRIVATE_KEY or DKIM_PRIVATE_KEY_FILE; none of them: no signing. */
function readDkim(read: EnvReader, mailFromAddress: string): DkimSettings | undefined {
  const keySelector = read.raw('DKIM_SELECTOR');
  const inlineKey = read.raw('DKIM_PRIVATE_KEY');
  const keyFile = read.raw('DKIM_PRIVATE_KEY_FILE');
  const domainName = read.raw('DKIM_DOMAIN') ?? domainOf(mailFromAddress);
  if (keySelector === undefined && inlineKey === undefined && keyFile === undefined) return undefined;
  if (keySelector === undefined) {
    read.problems.push(
      'DKIM_SELECTOR: required with a DKIM key (the selector of its DNS record, such as "depeche")',
    );
    return undefined;
  }
  if (!/^[A-Za-z0-9](?:[A-Za-z0-9._-]{0,62})$/.test(keySelector)) {
    read.problems.push(`DKIM_SELECTOR: expected a DNS label such as "depeche", got "${keySelector}"`);
    return undefined;
  }
  let privateKey: string;
  if (inlineKey !== undefined && keyFile !== undefined) {
    read.problems.push('DKIM_PRIVATE_KEY: set it or DKIM_PRIVATE_KEY_FILE, not both');
    return undefined;
  } else if (keyFile !== undefined) {
    try {
      privateKey = readFileSync(keyFile, 'utf8');
    } catch (error) {
      read.problems.push(
        `DKIM_PRIVATE_KEY_FILE: cannot read "${keyFile}" (${(error as NodeJS.ErrnoException).code ?? 'error'})`,
      );
      return undefined;
    }
  } else if (inlineKey !== undefined) {
    // Environment files often hold a PEM on one line with \n for its line breaks.
    privateKey = inlineKey.replace(/\\n/g, '\n');
  } else {
    read.problems.push(
      'DKIM_PRIVATE_KEY: required with DKIM_SELECTOR (a PEM private key, or DKIM_PRIVATE_KEY_FILE)',
    );
    return undefined;
  }
  const variable = keyFile !== undefined ? 'DKIM_PRIVATE_KEY_FILE' : 'DKIM_PRIVATE_KEY';
  try {
    const key = createPrivateKey(privateKey);
    // nodemailer signs rsa-sha256, the algorithm every receiver checks.
    if (key.asymmetricKeyType !== 'rsa') {
      read.problems.push(`${variable}: expected an RSA key, got ${key.asymmetricKeyType ?? 'another kind'}`);
    }
  } catch {
    read.problems.push(`${variable}: expected a PEM private key (-----BEGIN PRIVATE KEY----- …)`);
    return undefined;
  }
  if (!/^[a-z0-9.-]+\.[a-z]{2,}$/i.test(domainName)) {
    read.problems.push(
      `DKIM_DOMAIN: expected the signing domain such as example.org (MAIL_FROM's domain when unset), got "${domainName}"`,
    );
  }
  return { domainName, keySelector, privateKey };
}

function readCurrency(read: EnvReader): string {
  const currency = read.string('CURRENCY', 'EUR').toUpperCase();
  if (/^[A-Z]{3}$/.test(currency)) return currency;
  read.problems.push(`CURRENCY: expected an ISO 4217 code such as EUR, got "${currency}"`);
  return 'EUR';
}

/** STRIPE_SECRET_KEY with STRIPE_WEBHOOK_SECRET, or neither: payments off. */
function readStripe(read: EnvReader): StripeSettings | undefined {
  const secretKey = read.raw('STRIPE_SECRET_KEY');
  const webhookSecret = read.raw('STRIPE_WEBHOOK_SECRET');
  const apiUrl = read.url('STRIPE_API_URL', undefined, ['http', 'https']);
  const price = (name: string): string | undefined => {
    const id = read.raw(name);
    if (id !== undefined && !/^price_[A-Za-z0-9]{1,200}$/.test(id))
      read.problems.push(`${name}: expected a Stripe price id such as price_1Abc…, got "${id}"`);
    return id;
  };
  const monthlyPriceId = price('STRIPE_PRICE_MONTHLY');
  const yearlyPriceId = price('STRIPE_PRICE_YEARLY');
  if (secretKey === undefined && webhookSecret === undefined) {
    for (const name of ['STRIPE_API_URL', 'STRIPE_PRICE_MONTHLY', 'STRIPE_PRICE_YEARLY'])
      if (read.raw(name) !== undefined)
        read.problems.push(`${name}: has no effect without STRIPE_SECRET_KEY and STRIPE_WEBHOOK_SECRET`);
    return undefined;
  }
  if (secretKey === undefined || !/^(?:sk|rk)_(?:test|live)_[A-Za-z0-9]{8,}$/.test(secretKey)) {
    read.problems.push(
      'STRIPE_SECRET_KEY: expected a secret or restricted key (sk_live_…, sk_test_…, rk_…), required with STRIPE_WEBHOOK_SECRET',
    );
    return undefined;
  }
  if (webhookSecret === undefined || !/^whsec_[A-Za-z0-9+/=]{8,}$/.test(webhookSecret)) {
    read.problems.push(
      'STRIPE_WEBHOOK_SECRET: expected the signing secret of the webhook endpoint (whsec_…), required with STRIPE_SECRET_KEY',
    );
    return undefined;
  }
  let api: StripeSettings['api'];
  if (apiUrl !== undefined && URL.canParse(apiUrl)) {
    const url = new URL(apiUrl);
    const protocol = url.protocol === 'http:' ? 'http' : 'https';
    api = { protocol, host: url.hostname, port: Number(url.port || (protocol === 'http' ? 80 : 443)) };
  }
  const testMode = /^(?:sk|rk)_test_/.test(secretKey);
  return {
    secretKey,
    webhookSecret,
    api,
    monthlyPriceId,
    yearlyPriceId,
    dashboardUrl: `https://dashboard.stripe.com${testMode ? '/test' : ''}`,
  };
}

/**
 * The development secret is generated once and kept in DATA_DIR so that tokens in emails already
 * sent stay valid across restarts; production must say its secret explicitly.
 */
function developmentSecret(dataDir: string): string {
  const file = path.join(dataDir, 'secret-key');
  try {
    return readFileSync(file, 'utf8').trim();
  } catch {
    const secret = randomBytes(32).toString('base64url');
    mkdirSync(dataDir, { recursive: true });
    writeFileSync(file, `${secret}\n`, { mode: 0o600, flag: 'wx' });
    return secret;
  }
}

export function loadConfig(env: Env = process.env, cwd: string = process.cwd()): AppConfig {
  const read = new EnvReader(env);
  const production = read.raw('NODE_ENV') === 'production';
  const role = read.oneOf('ROLE', ROLES, 'all');
  const port = read.integer('PORT', 3000, 0, 65535);
  const smtpMaxConnections = read.integer('SMTP_MAX_CONNECTIONS', 5, 1, 100);
  const host = read.string('HOST', '0.0.0.0');

  const publicUrlRaw = read.url('PUBLIC_URL', `http://localhost:${port}`, ['http', 'https']) ?? '';
  const publicUrl = publicUrlRaw.replace(/\/+$/, '');

  const dataDir = path.resolve(cwd, read.string('DATA_DIR', './var'));
  const templatesDir = path.resolve(cwd, read.string('TEMPLATES_DIR', TEMPLATES_DIR));
  if (!existsSync(path.join(templatesDir, 'layouts'))) {
    read.problems.push(
      `TEMPLATES_DIR: expected a folder with layouts/ and partials/ in it, got "${templatesDir}"`,
    );
  }
  const databaseUrl = read.url('DATABASE_URL', undefined, ['postgres', 'postgresql']);
  if (databaseUrl === undefined && role !== 'all') {
    read.problems.push(
      `DATABASE_URL: required when ROLE=${role}; the embedded database serves a single process (ROLE=all)`,
    );
  }
  const redisUrlExplicit = read.raw('REDIS_URL') !== undefined;
  const redisUrl = read.url('REDIS_URL', 'redis://127.0.0.1:6379', ['redis', 'rediss']) ?? '';

  const queuePrefix = read.string('QUEUE_PREFIX', 'depeche');
  if (!/^[A-Za-z0-9_{}.-]{1,64}$/.test(queuePrefix)) {
    read.problems.push(
      `QUEUE_PREFIX: expected 1 to 64 letters, digits or "_{}.-" (braces make a Redis Cluster hash tag), got "${queuePrefix}"`,
    );
  }
  const publicationName = read.string('PUBLICATION_NAME', 'Dépêche');
  const smtpUrl = read.url('SMTP_URL', undefined, ['smtp', 'smtps']);
  const publicHost = URL.canParse(publicUrl) ? new URL(publicUrl).hostname : 'localhost';
  const mailFrom = read.mailbox('MAIL_FROM', `${publicationName} <newsletter@${publicHost}>`);
  const verpAddress = read.raw('VERP_ADDRESS');
  if (verpAddress !== undefined && !/^[^@\s+]+@[^@\s]+$/.test(verpAddress)) {
    read.problems.push(
      `VERP_ADDRESS: expected a bounce address without a + such as bounces@example.org, got "${verpAddress}"`,
    );
  }
  const inboundPort = read.raw('INBOUND_SMTP_PORT');
  const inbound =
    inboundPort === undefined
      ? undefined
      : {
          port: read.integer('INBOUND_SMTP_PORT', 0, 0, 65535),
          host: read.string('INBOUND_SMTP_HOST', '0.0.0.0'),
          maxBytes: read.integer('INBOUND_MAX_BYTES', 5 * 1024 * 1024, 64 * 1024, 50 * 1024 * 1024),
          perMinute: read.integer('INBOUND_RATE_PER_MINUTE', 1200, 1, 1_000_000),
        };
  if (inbound && verpAddress === undefined) {
    read.problems.push(
      'VERP_ADDRESS: required with INBOUND_SMTP_PORT; the listener takes the mail sent to that address (bounces@example.org)',
    );
  }
  if (role === 'inbound' && !inbound) {
    read.problems.push(
      'INBOUND_SMTP_PORT: required when ROLE=inbound; it is the port the listener takes mail on',
    );
  }
  const previousSecretKeys = (read.raw('SECRET_KEY_PREVIOUS') ?? '')
    .split(',')
    .map((key) => key.trim())
    .filter((key) => key !== '');
  if (previousSecretKeys.some((key) => key.length < 32)) {
    read.problems.push(
      'SECRET_KEY_PREVIOUS: expected comma-separated secrets of at least 32 characters each',
    );
  }
  const trustProxyRaw = read.string('TRUST_PROXY', 'false');
  const trustProxy =
    trustProxyRaw === 'true'
      ? true
      : trustProxyRaw === 'false'
        ? false
        : /^\d+$/.test(trustProxyRaw)
          ? Number(trustProxyRaw)
          : trustProxyRaw;

  let secretKey = read.raw('SECRET_KEY');
  if (secretKey !== undefined && secretKey.length < 32) {
    read.problems.push(`SECRET_KEY: expected at least 32 characters, got ${secretKey.length}`);
  } else if (secretKey === undefined && production) {
    read.problems.push('SECRET_KEY: required when NODE_ENV=production (at least 32 random characters)');
  } else if (secretKey === undefined && read.problems.length === 0) {
    secretKey = developmentSecret(dataDir);
  }

  const metricsToken = read.raw('METRICS_TOKEN');
  if (metricsToken !== undefined && metricsToken.length < 24) {
    read.problems.push(`METRICS_TOKEN: expected at least 24 characters, got ${metricsToken.length}`);
  }
  const adminApiToken = read.raw('ADMIN_API_TOKEN');
  if (adminApiToken !== undefined && adminApiToken.length < 24) {
    read.problems.push(`ADMIN_API_TOKEN: expected at least 24 characters, got ${adminApiToken.length}`);
  }

  const timezone = read.string('PUBLICATION_TIMEZONE', 'Europe/Paris');
  if (!isValidTimeZone(timezone)) {
    read.problems.push(
      `PUBLICATION_TIMEZONE: expected an IANA time zone such as Europe/Paris, got "${timezone}"`,
    );
  }

  const stripe = readStripe(read);
  const config: AppConfig = {
    production,
    role,
    port,
    host,
    publicUrl,
    publication: {
      name: publicationName,
      description: read.string('PUBLICATION_DESCRIPTION', ''),
      mailFrom,
      replyTo: read.mailbox('MAIL_REPLY_TO', undefined),
      postalAddress: read.string('POSTAL_ADDRESS', ''),
      locale: read.oneOf('LOCALE', LOCALES, 'fr'),
      timeZone: timezone,
      softBounceLimit: read.integer('SOFT_BOUNCE_LIMIT', 3, 1, 100),
      eventRetentionDays: read.integer('EVENT_RETENTION_DAYS', 365, 1, 3650),
    },
    dataDir,
    templatesDir,
    databaseUrl,
    redisUrl,
    redisUrlExplicit,
    queuePrefix,
    secretKey: secretKey ?? '',
    previousSecretKeys,
    smtpUrl,
    verpAddress,
    inbound,
    relays: readRelays(read),
    dkim: readDkim(read, mailFrom.address),
    s3: readS3(read),
    sendRateLimit: read.integer('SEND_RATE_LIMIT', 0, 0, 1_000_000),
    smtpMaxConnections,
    pageCacheSeconds: read.integer('PAGE_CACHE_SECONDS', 5, 0, 3600),
    trustProxy,
    confirmTokenTtlHours: read.integer('CONFIRM_TOKEN_TTL_HOURS', 48, 1, 720),
    subscribeRateLimit: read.rateLimit('SUBSCRIBE_RATE_LIMIT', '10/600'),
    signInRateLimit: read.rateLimit('SIGN_IN_RATE_LIMIT', '10/900'),
    sessionIdleSeconds: read.integer('SESSION_IDLE_HOURS', 12, 1, 720) * 3600,
    welcomeEmail: read.oneOf('WELCOME_EMAIL', ['true', 'false'], 'true') === 'true',
    // Four messages a session: while one is out, the next ones are composed and waiting for it.
    // Measured at 100,000 with two workers: 10 lanes for 5 sessions left the machine 15 % idle;
    // 20 sent 8 to 13 % more a second, 40 as many as 20, 80 fewer.
    sendConcurrency: read.integer('SEND_CONCURRENCY', Math.min(200, 4 * smtpMaxConnections), 1, 200),
    deliveryLeaseSeconds: read.integer('DELIVERY_LEASE_SECONDS', 10, 1, 3600),
    retryBaseDelayMs: read.integer('RETRY_BASE_DELAY_MS', 2000, 10, 600_000),
    maxDeliveryAttempts: read.integer('MAX_DELIVERY_ATTEMPTS', 10, 1, 100),
    editionOnPublish: read.oneOf('EDITION_ON_PUBLISH', ['true', 'false'], 'false') === 'true',
    premiumUrl:
      read.url('PREMIUM_URL', undefined, ['http', 'https']) ?? `${publicUrl}/${stripe ? 'upgrade' : ''}`,
    stripe,
    currency: readCurrency(read),
    paymentGraceDays: read.integer('PAYMENT_GRACE_DAYS', 7, 0, 60),
    adminApiToken,
    metricsToken,
    logLevel: read.oneOf('LOG_LEVEL', LOG_LEVELS, 'info'),
    logFormat: read.oneOf('LOG_FORMAT', LOG_FORMATS, production ? 'json' : 'pretty'),
    teaserWords: read.integer('TEASER_WORDS', 120, 10, 5000),
    pageSize: read.integer('PAGE_SIZE', 10, 1, 100),
    tickIntervalMs: read.integer('TICK_INTERVAL_MS', 1000, 100, 3_600_000),
    shutdownTimeoutMs: read.integer('SHUTDOWN_TIMEOUT_MS', 30_000, 1000, 600_000),
    maxBodyBytes: read.integer('MAX_BODY_BYTES', 1_048_576, 1024, 104_857_600),
    searchPath: read.string('PATH', ''),
  };
  if (read.problems.length > 0) throw new ConfigError(read.problems);
  return config;
}
