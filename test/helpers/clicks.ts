import { load } from 'cheerio';
import { SubscriberTokens } from '../../src/mail/subscriber-tokens.js';
import { SAMPLE_BODY_MD, sampleArticle } from '../fixtures/sample-article.js';
import type { ReceivedMail } from './smtp-sink.js';
import type { TestApp } from './test-app.js';

/** A source the sample article links to, before its cut: in both tiers' emails. */
export const REPORT_URL = 'https://www.syriahr.com/fr/rapport?id=1&lang=fr';

/** The sample article (premium), with a link to REPORT_URL in its teaser. */
export function articleWithLink(): Record<string, unknown> {
  const body = `Selon [le rapport de l'OSDH](${REPORT_URL}), la ville est tombée.\n\n${SAMPLE_BODY_MD}`;
  return sampleArticle({ access: 'premium', body_md: body });
}

/** Every link of a message's HTML, in order. */
export function hrefsOf(mail: ReceivedMail): string[] {
  const $ = load(String(mail.parsed.html));
  return $('a[href]')
    .map((_, a) => $(a).attr('href') ?? '')
    .get();
}

/**
 * The path of a copy's click link signed again as if the copy had been sent `secondsAgo` earlier:
 * a reader's click rather than the follow of a scanner checking links as the message arrives.
 */
export function clickedLater(t: TestApp, href: string, secondsAgo = 3600): string {
  const tokens = t.app.get(SubscriberTokens);
  const click = tokens.verifyClickToken(href.split('/r/')[1] ?? '');
  if (!click) throw new Error(`not a click link: ${href}`);
  return `/r/${tokens.clickToken({ ...click, sentAt: click.sentAt - secondsAgo })}`;
}
