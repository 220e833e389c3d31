import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import type { AppConfig } from '../config/app-config.js';
import { APP_CONFIG } from '../config/config.module.js';
import { linkSignature, randomLinkToken } from '../lib/link-token.js';

const UUID_HEX = /^[0-9a-f]{32}$/;

function uuidToBytes(id: string): Buffer {
  return Buffer.from(id.replace(/-/g, ''), 'hex');
}

function bytesToUuid(bytes: Buffer): string {
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** A click on a link of an edition, as its token carries it. */
export interface Click {
  readonly editionId: string;
  readonly linkId: string;
  readonly subscriberId: string;
  /** Unix seconds when the copy was sent. */
  readonly sentAt: number;
}

/** A reader link's two parts, as an article URL carries them. */
export interface ReaderLink {
  readonly editionId: string;
  readonly token: string;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/**
 * What each article link of a subscriber's copy of an edition carries: the reader token of the
 * edition's web version, so that the link opens that edition's articles at the subscriber's tier,
 * and nothing else of theirs.
 */
export function readerQueryOf(link: ReaderLink): string {
  return `?edition=${link.editionId}&reader=${link.token}`;
}

/** The reader link in an article URL's query, when it has the shape of one. */
export function readerLinkIn(query: Readonly<Record<string, unknown>>): ReaderLink | undefined {
  const { edition, reader } = query;
  if (typeof edition !== 'string' || typeof reader !== 'string') return undefined;
  if (!UUID.test(edition) || !/^[A-Za-z0-9_.-]{1,128}$/.test(reader)) return undefined;
  return { editionId: edition, token: reader };
}

/**
 * The tokens in subscribers' links. A manage token (unsubscribe, preferences) is the subscriber's
 * id signed with HMAC-SHA256: nothing is looked up by a guessable id, and links already sent keep
 * working after SECRET_KEY rotates as long as the old key is listed in SECRET_KEY_PREVIOUS.
 * A confirmation token is random and single-use; only its hash is stored.
 */
@Injectable()
export class SubscriberTokens {
  private readonly keys: readonly string[];

  constructor(@Inject(APP_CONFIG) config: AppConfig) {
    this.keys = [config.secretKey, ...config.previousSecretKeys];
  }

  /** The HMAC of a subscriber id for one purpose: a token for one thing never opens another. */
  private signature(key: string, purpose: string, id: Buffer): Buffer {
    return createHmac('sha256', key).update(`${purpose}:`).update(id).digest();
  }

  private sign(purpose: string, subscriberId: string): string {
    const id = uuidToBytes(subscriberId);
    const [current] = this.keys;
    return `${id.toString('base64url')}.${linkSignature(this.signature(current ?? '', purpose, id))}`;
  }

  private verify(purpose: string, token: string): string | undefined {
    const [idPart, signaturePart, extra] = token.split('.');
    if (idPart === undefined || signaturePart === undefined || extra !== undefined) return undefined;
    const id = Buffer.from(idPart, 'base64url');
    // Hex since links stopped looking like Bitcoin addresses; base64url in links sent before.
    const given = /^[0-9a-f]{64}$/.test(signaturePart)
      ? Buffer.from(signaturePart, 'hex')
      : Buffer.from(signaturePart, 'base64url');
    if (!UUID_HEX.test(id.toString('hex')) || given.length !== 32) return undefined;
    const valid = this.keys.some((key) => timingSafeEqual(this.signature(key, purpose, id), given));
    return valid ? bytesToUuid(id) : undefined;
  }

  manageToken(subscriberId: string): string {
    return this.sign('manage', subscriberId);
  }

  /** The subscriber id a manage token was signed for, or undefined for anything forged or mangled. */
  verifyManageToken(token: string): string | undefined {
    return this.verify('manage', token);
  }

  /**
   * A token that only lets its subscriber read one edition on the web. Web-version links get
   * shared, so they must not carry the manage token (which unsubscribes and exports data).
   */
  readerToken(editionId: string, subscriberId: string): string {
    return this.sign(`read:${editionId}`, subscriberId);
  }

  verifyReaderToken(editionId: string, token: string): string | undefined {
    return this.verify(`read:${editionId}`, token);
  }

  /**
   * The token of a click link: which edition, which of its links, whose copy, and when the copy
   * was sent (a follow within seconds of that is a scanner's, not a reader's). The copy's part
   * (edition, reader, time) is signed, once per copy rather than once per link: the link's id is
   * looked up among the edition's own links, so changing it can only lead to another link of the
   * same edition, which that reader could click anyway. The signature is 40 hex characters: one
   * word, longer than anything a spam filter could read as a Bitcoin address (see link-token.ts).
   */
  clickToken(click: Click): string {
    return this.clickTokensFor(click)(click.linkId);
  }

  /** The click tokens of one copy, by link: the copy's part is encoded and signed once. */
  clickTokensFor(copy: Omit<Click, 'linkId'>): (linkId: string) => string {
    const [current = ''] = this.keys;
    const edition = uuidToBytes(copy.editionId).toString('base64url');
    const reader = `${uuidToBytes(copy.subscriberId).toString('base64url')}.${copy.sentAt.toString(36)}`;
    const signature = this.clickSignature(current, `${edition}.${reader}`).toString('hex');
    return (linkId) => `${edition}.${linkId}.${reader}.${signature}`;
  }

  /** The click a token was signed for, or undefined for anything forged or mangled. */
  verifyClickToken(token: string): Click | undefined {
    const match =
      /^([A-Za-z0-9_-]{22})\.([A-Za-z0-9_-]{10})\.([A-Za-z0-9_-]{22})\.([0-9a-z]{1,10})\.([0-9a-f]{40})$/.exec(
        token,
      );
    if (!match) return undefined;
    const [, edition = '', linkId = '', subscriber = '', sentAt = '', signature = ''] = match;
    const signed = `${edition}.${subscriber}.${sentAt}`;
    const given = Buffer.from(signature, 'hex');
    const valid = this.keys.some((key) => timingSafeEqual(this.clickSignature(key, signed), given));
    if (!valid) return undefined;
    return {
      editionId: bytesToUuid(Buffer.from(edition, 'base64url')),
      linkId,
      subscriberId: bytesToUuid(Buffer.from(subscriber, 'base64url')),
      sentAt: parseInt(sentAt, 36),
    };
  }

  /** The first 20 bytes of the HMAC: written as 40 hex characters. */
  private clickSignature(key: string, body: string): Buffer {
    return createHmac('sha256', key).update(`click:${body}`).digest().subarray(0, 20);
  }

  /** A fresh confirmation token and the hash to store for it. */
  static confirmationToken(): { token: string; hash: string } {
    const token = randomLinkToken();
    return { token, hash: SubscriberTokens.hashConfirmationToken(token) };
  }

  static hashConfirmationToken(token: string): string {
    return createHash('sha256').update(token, 'utf8').digest('hex');
  }
}
