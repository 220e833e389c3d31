import { domainOf } from './email-address.js';

/**
 * Whether a DKIM signature for `signingDomain` speaks for mail from `address`, as DMARC's relaxed
 * alignment asks: the same domain, or one a subdomain of the other (news.exemple.fr and
 * exemple.fr). Two sibling subdomains may share an organisational domain too, but telling that
 * apart from co.uk needs the public suffix list; refusing them costs an editor one more DNS record.
 */
export function signsFor(signingDomain: string, address: string): boolean {
  const signer = signingDomain.toLowerCase();
  const sender = domainOf(address);
  return sender === signer || sender.endsWith(`.${signer}`) || signer.endsWith(`.${sender}`);
}
