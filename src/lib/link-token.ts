import { randomBytes } from 'node:crypto';

/**
 * Tokens that travel in links people receive by email. Spam filters read a run of 29 to 34 base58
 * characters after a 1 or a 3, between word boundaries, as a Bitcoin address (SpamAssassin's
 * __BITCOIN_ID, which PDS_BTC_ID and other rules score). Base64url's `-` splits a token into such
 * runs at random, so about one message in a few dozen was scored as a Bitcoin scam. A token of
 * letters and digits only is a single word, longer than any such run, and can never match.
 */
export function randomLinkToken(): string {
  for (;;) {
    // 32 random bytes; those whose encoding has no `-` or `_` are uniform over 62 characters.
    const token = randomBytes(32).toString('base64url');
    if (!/[-_]/.test(token)) return token;
  }
}

/** A signature in a link: hex is one word of 64 characters, for the same reason. */
export function linkSignature(bytes: Buffer): string {
  return bytes.toString('hex');
}
