/**
 * How a subscriber's copy of an edition is known again when something comes back about it.
 *
 * Its Message-ID is <edition id>.<subscriber id>@domain, derived rather than random so that a copy
 * sent again after a crash keeps it, and so that a report quoting the headers names the copy.
 *
 * The addresses replies to a message come back to, built from VERP_ADDRESS (bounces@example.org):
 * the envelope sender of a subscriber's copy is bounces+<subscriber id>@example.org, so a bounce
 * names the subscriber whatever it quotes; the mailto: of List-Unsubscribe is
 * bounces+unsubscribe@example.org, read by the same listener. One place writes them and reads them.
 */
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const UNSUBSCRIBE_TAG = 'unsubscribe';

function split(address: string): { local: string; domain: string } {
  const at = address.lastIndexOf('@');
  return { local: address.slice(0, at), domain: address.slice(at + 1) };
}

export function verpSender(verpAddress: string, subscriberId: string): string {
  const { local, domain } = split(verpAddress);
  return `${local}+${subscriberId}@${domain}`;
}

export function unsubscribeAddress(verpAddress: string): string {
  const { local, domain } = split(verpAddress);
  return `${local}+${UNSUBSCRIBE_TAG}@${domain}`;
}

/** What an address mail came to is for: a bounce to someone's copy, the unsubscribe box, or the plain address. */
export type ReturnPathRecipient =
  | { readonly kind: 'subscriber'; readonly subscriberId: string }
  | { readonly kind: 'unsubscribe' }
  | { readonly kind: 'plain' };

/** Undefined for any address that is not one of ours (the listener refuses it). */
export function readReturnPath(verpAddress: string, recipient: string): ReturnPathRecipient | undefined {
  const ours = split(verpAddress.toLowerCase());
  const given = split(recipient.trim().toLowerCase());
  if (given.domain !== ours.domain) return undefined;
  if (given.local === ours.local) return { kind: 'plain' };
  if (!given.local.startsWith(`${ours.local}+`)) return undefined;
  const tag = given.local.slice(ours.local.length + 1);
  if (tag === UNSUBSCRIBE_TAG) return { kind: 'unsubscribe' };
  return UUID.test(tag) ? { kind: 'subscriber', subscriberId: tag } : undefined;
}

export function editionMessageId(editionId: string, subscriberId: string, domain: string): string {
  return `<${editionId}.${subscriberId}@${domain}>`;
}

/** The edition and subscriber a quoted Message-ID names, when it has the shape of one of ours. */
export function readEditionMessageId(
  messageId: string,
): { editionId: string; subscriberId: string } | undefined {
  const match = /^<?([0-9a-f-]{36})\.([0-9a-f-]{36})@[^>\s]+>?$/i.exec(messageId.trim());
  if (!match?.[1] || !match[2]) return undefined;
  const [editionId, subscriberId] = [match[1].toLowerCase(), match[2].toLowerCase()];
  return UUID.test(editionId) && UUID.test(subscriberId) ? { editionId, subscriberId } : undefined;
}
