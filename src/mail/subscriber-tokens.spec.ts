import { createHmac, randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { AppConfig } from '../config/app-config.js';
import { SubscriberTokens } from './subscriber-tokens.js';

const id = '4f0c3a6e-9a51-4d3e-8d8e-2f6f6f3b8a11';
const oldKey = 'o'.repeat(40);
const newKey = 'n'.repeat(40);

function tokens(secretKey: string, previousSecretKeys: string[] = []): SubscriberTokens {
  return new SubscriberTokens({ secretKey, previousSecretKeys } as unknown as AppConfig);
}

describe('SubscriberTokens', () => {
  it('signs a subscriber id and reads it back', () => {
    const signer = tokens(newKey);
    expect(signer.verifyManageToken(signer.manageToken(id))).toBe(id);
  });

  it('keeps tokens signed with a previous secret valid after rotation, and only while it is listed', () => {
    const sent = tokens(oldKey).manageToken(id);
    expect(tokens(newKey, [oldKey]).verifyManageToken(sent)).toBe(id);
    expect(tokens(newKey).verifyManageToken(sent)).toBeUndefined();
  });

  it('refuses forged, mangled and re-targeted tokens', () => {
    const signer = tokens(newKey);
    const token = signer.manageToken(id);
    const other = signer.manageToken('00000000-0000-4000-8000-000000000000');
    const [idPart, signature] = token.split('.');
    for (const bad of [
      `${other.split('.')[0]}.${signature}`,
      `${idPart}.${signature!.slice(0, -1)}${signature!.endsWith('A') ? 'B' : 'A'}`,
      `${idPart}`,
      `${token}.extra`,
      '',
      '..',
      tokens(oldKey).manageToken(id),
    ]) {
      expect(signer.verifyManageToken(bad), bad).toBeUndefined();
    }
  });

  it('gives reader tokens that open one edition and nothing else', () => {
    const signer = tokens(newKey);
    const edition = '11111111-1111-4111-8111-111111111111';
    const reader = signer.readerToken(edition, id);
    expect(signer.verifyReaderToken(edition, reader)).toBe(id);
    expect(signer.verifyReaderToken('22222222-2222-4222-8222-222222222222', reader)).toBeUndefined();
    expect(signer.verifyManageToken(reader)).toBeUndefined();
    expect(signer.verifyReaderToken(edition, signer.manageToken(id))).toBeUndefined();
  });

  it('signs with HMAC-SHA256 as links already sent were signed', () => {
    const signer = tokens(newKey);
    const bytes = Buffer.from(id.replace(/-/g, ''), 'hex');
    const hmac = (message: Buffer): Buffer => createHmac('sha256', newKey).update(message).digest();
    expect(signer.manageToken(id)).toBe(
      `${bytes.toString('base64url')}.${hmac(Buffer.concat([Buffer.from('manage:'), bytes])).toString('hex')}`,
    );
    const edition = '11111111-1111-4111-8111-111111111111';
    expect(signer.readerToken(edition, id)).toBe(
      `${bytes.toString('base64url')}.${hmac(Buffer.concat([Buffer.from(`read:${edition}:`), bytes])).toString('hex')}`,
    );
    const click = { editionId: edition, linkId: 'abcdefghij', subscriberId: id, sentAt: 1_790_000_000 };
    const [editionPart, linkId, reader, sentAt, signature] = signer.clickToken(click).split('.');
    expect(linkId).toBe('abcdefghij');
    expect(signature).toBe(
      hmac(Buffer.from(`click:${editionPart}.${reader}.${sentAt}`))
        .subarray(0, 20)
        .toString('hex'),
    );
    expect(signer.verifyClickToken(signer.clickToken(click))).toEqual(click);
  });

  it('makes random confirmation tokens and stores only their hash', () => {
    const a = SubscriberTokens.confirmationToken();
    const b = SubscriberTokens.confirmationToken();
    expect(a.token).not.toBe(b.token);
    expect(a.token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(SubscriberTokens.hashConfirmationToken(a.token)).toBe(a.hash);
    expect(a.hash).not.toContain(a.token);
  });
});

/** SpamAssassin's __BITCOIN_ID body pattern (72_active.cf), which PDS_BTC_ID and others score. */
const BITCOIN_ID =
  /\b(?<!=)(?:[13](?:(?:[-_=\s][a-km-zA-HJ-NP-Z1-9]){29,34}|[a-km-zA-HJ-NP-Z1-9]{29,34})|bc1[acdefghjklmnpqrstuvwxyz234567890]{30,90}|b[-_=\s]c[-_=\s]1(?:[-_=\s][acdefghjklmnpqrstuvwxyz234567890]){30,90})\b/;

describe('tokens in mailed links', () => {
  it('never look like a Bitcoin address to a spam filter', () => {
    const signer = tokens(newKey);
    for (let i = 0; i < 3000; i += 1) {
      const subscriber = randomUUID();
      for (const token of [
        SubscriberTokens.confirmationToken().token,
        signer.manageToken(subscriber),
        signer.readerToken(randomUUID(), subscriber),
      ]) {
        expect(`https://blog.example.test/confirm/${token}`).not.toMatch(BITCOIN_ID);
      }
    }
  });

  it('still opens links sent before, whose signature was base64url', () => {
    const signer = tokens(newKey);
    const [idPart, hexSignature] = signer.manageToken(id).split('.');
    const before = `${idPart}.${Buffer.from(hexSignature!, 'hex').toString('base64url')}`;
    expect(signer.verifyManageToken(before)).toBe(id);
  });
});
