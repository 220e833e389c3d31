import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { load } from 'cheerio';
import { eq } from 'drizzle-orm';
import { dkimVerify } from 'mailauth/lib/dkim/verify.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { settings } from '../src/database/schema.js';
import { seedAudience } from './helpers/audience.js';
import { DeskClient, settingsForm } from './helpers/desk.js';
import { FAST_PIPELINE, finished, publishedArticle, scheduledEdition } from './helpers/editions.js';
import { eventually, type SmtpSink, startSmtpSink } from './helpers/smtp-sink.js';
import { startTestApp, type TestApp } from './helpers/test-app.js';

const SELECTOR = 'depeche2026';
const DOMAIN = 'blog.example.test';

describe('DKIM signing', () => {
  let t: TestApp;
  let sink: SmtpSink;
  let keyDir: string;
  let publicKeyRecord: string;

  /** DNS as receivers see it: the selector's TXT record holds the public key. */
  const resolver = (name: string, type: string): Promise<string[][]> =>
    type === 'TXT' && name === `${SELECTOR}._domainkey.${DOMAIN}`
      ? Promise.resolve([[publicKeyRecord]])
      : Promise.reject(Object.assign(new Error(`no ${type} record for ${name}`), { code: 'ENOTFOUND' }));

  beforeAll(async () => {
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    keyDir = mkdtempSync(path.join(tmpdir(), 'depeche-dkim-'));
    const keyFile = path.join(keyDir, 'dkim.pem');
    writeFileSync(keyFile, privateKey.export({ type: 'pkcs8', format: 'pem' }));
    const der = publicKey.export({ type: 'spki', format: 'der' }).toString('base64');
    publicKeyRecord = `v=DKIM1; k=rsa; p=${der}`;
    sink = await startSmtpSink();
    t = await startTestApp({
      SMTP_URL: sink.url,
      DKIM_SELECTOR: SELECTOR,
      DKIM_PRIVATE_KEY_FILE: keyFile,
      ...FAST_PIPELINE,
    });
  });
  afterAll(async () => {
    await t.close();
    await sink.close();
    rmSync(keyDir, { recursive: true, force: true });
  });

  it('signs every edition message, covering the list headers, with a signature receivers verify', async () => {
    const article = await publishedArticle(t);
    const audience = await seedAudience(t, { free: 2, premium: 2 }, 'dkim');
    const edition = await scheduledEdition(t, article.id);
    expect(await finished(t, edition.id)).toMatchObject({ status: 'sent', counts: { sent: 4 } });
    for (const email of [...audience.free, ...audience.premium]) {
      const [mail] = sink.to(email);
      const result = await dkimVerify(mail!.raw, { resolver });
      const [signature] = result.results;
      expect(signature?.status.result, signature?.info).toBe('pass');
      expect(signature?.signingDomain).toBe(DOMAIN);
      // mailauth 4 reports the signed fields without declaring them in its types.
      const { signingHeaders } = signature as { signingHeaders?: { keys?: string } };
      const signed = (signingHeaders?.keys ?? '').toLowerCase().split(/:\s*/);
      for (const field of [
        'from',
        'subject',
        'list-unsubscribe',
        'list-unsubscribe-post',
        'feedback-id',
        'list-id',
      ]) {
        expect(signed, `${field} in ${signed.join(':')}`).toContain(field);
      }
    }
  });

  it('keeps signed copies in quoted-printable, though the server announces 8BITMIME (RFC 6376 5.3)', async () => {
    const article = await publishedArticle(t);
    const audience = await seedAudience(t, { free: 1, premium: 1 }, 'sept-bits');
    // The second send goes over sessions that have heard the server announce 8BITMIME.
    for (const round of [1, 2]) {
      const edition = await scheduledEdition(t, article.id);
      expect(await finished(t, edition.id)).toMatchObject({ status: 'sent' });
      for (const email of [...audience.free, ...audience.premium]) await sink.waitFor(email, round);
    }
    for (const email of [...audience.free, ...audience.premium]) {
      const copy = sink.to(email)[1]!;
      expect(copy.envelopeBody).toBeUndefined();
      expect(copy.raw.every((byte) => byte < 128)).toBe(true);
      expect((await dkimVerify(copy.raw, { resolver })).results[0]?.status.result).toBe('pass');
    }
  });

  it('fails verification when a signed list header is altered on the way', async () => {
    const mail = sink.messages[0]!;
    const forged = Buffer.from(
      mail.raw
        .toString('latin1')
        .replace(/^Feedback-ID:[^\r\n]*(?:\r\n[ \t][^\r\n]*)*/m, 'Feedback-ID: forged:by:someone'),
      'latin1',
    );
    expect(forged.equals(mail.raw)).toBe(false);
    const [signature] = (await dkimVerify(forged, { resolver })).results;
    expect(signature?.status.result).toBe('fail');
  });

  it('oversigns: a second From, To or Subject added above the signed one fails verification', async () => {
    const mail = sink.messages[0]!;
    expect((await dkimVerify(mail.raw, { resolver })).results[0]?.status.result).toBe('pass');
    for (const added of [
      'From: "Banque" <securite@banque.example>',
      'To: autre@exemple.fr',
      'Subject: Urgent',
    ]) {
      const text = mail.raw.toString('latin1');
      // Right below the DKIM-Signature field, so above every field it signed.
      const end = text.search(/\r\n(?![ \t])/);
      const forged = Buffer.from(`${text.slice(0, end + 2)}${added}\r\n${text.slice(end + 2)}`, 'latin1');
      const [signature] = (await dkimVerify(forged, { resolver })).results;
      expect(signature?.status.result, added).toBe('fail');
    }
  });

  it('signs transactional mail too', async () => {
    const res = await t.request({
      method: 'POST',
      url: '/subscribe',
      payload: { email: 'dkim-confirm@exemple.fr' },
    });
    expect(res.statusCode).toBeLessThan(400);
    const [mail] = await sink.waitFor('dkim-confirm@exemple.fr');
    const [signature] = (await dkimVerify(mail!.raw, { resolver })).results;
    expect(signature?.status.result).toBe('pass');
  });

  it('keeps the sender chosen on the desk of the domain DKIM signs for', async () => {
    const desk = new DeskClient(t);
    await desk.setUp();
    const before = load((await desk.get('/admin/settings')).body);
    expect(before('#sender_address-hint').text()).toBe(
      `DKIM signe pour ${DOMAIN}\u00a0: une adresse de ce domaine ou d’un de ses sous-domaines.`,
    );
    expect(
      load((await desk.get('/admin')).body)('[data-step="dkim"]').hasClass('checklist__step--done'),
    ).toBe(true);

    // Another domain: every message would fail DMARC, so the form says so and nothing is stored.
    const refused = await desk.post(
      '/admin/settings',
      await settingsForm(desk, { sender_address: 'lettre@autre-domaine.example' }),
    );
    expect(refused.statusCode).toBe(400);
    const page = load(refused.body);
    expect(page('#sender_address-error').text()).toBe(
      'DKIM signe pour un autre domaine\u00a0: les messageries prendraient ces e-mails pour une usurpation.',
    );
    expect(page('input[name="sender_address"]').attr('value')).toBe('lettre@autre-domaine.example');
    expect(await t.database.db.select().from(settings)).toEqual([]);

    // A subdomain aligns (DMARC's relaxed mode): taken, and the next message is signed and from it.
    const saved = await desk.post(
      '/admin/settings',
      await settingsForm(desk, { sender_address: 'lettre@news.blog.example.test' }),
    );
    expect(saved.statusCode).toBe(303);
    await t.request({ method: 'POST', url: '/subscribe', payload: { email: 'dkim-aligned@exemple.fr' } });
    const [mail] = await sink.waitFor('dkim-aligned@exemple.fr');
    expect(mail!.parsed.from?.value[0]?.address).toBe('lettre@news.blog.example.test');
    const [signature] = (await dkimVerify(mail!.raw, { resolver })).results;
    expect(signature?.status.result).toBe('pass');

    // A sender stored before DKIM_DOMAIN changed: the checklist asks for one of the new domain.
    await t.database.db
      .update(settings)
      .set({ value: 'lettre@ailleurs.example' })
      .where(eq(settings.key, 'publication.sender_address'));
    const misaligned = await eventually(async () => {
      const dashboard = load((await desk.get('/admin')).body);
      const step = dashboard('[data-step="dkim-sender"]');
      return step.length > 0 ? step : undefined;
    });
    expect(misaligned.find('a').attr('href')).toBe('/admin/settings');
    expect(misaligned.text()).toContain('Choisir un expéditeur du domaine que DKIM signe');
  });
});
