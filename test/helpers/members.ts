import { getQueueToken } from '@nestjs/bullmq';
import type { Queue } from 'bullmq';
import { expect } from 'vitest';
import { MEMBERS_QUEUE } from '../../src/queue/jobs.js';
import { eventually, type ReceivedMail, type SmtpSink } from './smtp-sink.js';
import { PUBLIC_URL, type TestApp } from './test-app.js';

/** A confirmed subscriber, added by an editor through the API; returns the id. */
export async function addMember(
  t: TestApp,
  email: string,
  tier: 'free' | 'premium' = 'free',
): Promise<string> {
  const created = await t.api('POST', '/api/subscribers', { email, tier, confirmed: true });
  expect(created.statusCode).toBe(201);
  return created.json().id as string;
}

/** The sign-in form posted, as a reader's browser posts it. */
export function askForLink(t: TestApp, email: string, next = '/', headers: Record<string, string> = {}) {
  return t.request({
    method: 'POST',
    url: '/sign-in',
    headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'text/html', ...headers },
    payload: new URLSearchParams({ email, next }).toString(),
  });
}

/** The path of the sign-in link a message carries. */
export function signInLinkIn(mail: ReceivedMail): string {
  const match = /https:\/\/blog\.example\.test\/sign-in\/[A-Za-z0-9_-]{43}/.exec(mail.parsed.text ?? '');
  if (!match) throw new Error(`No sign-in link in: ${mail.parsed.text}`);
  return new URL(match[0]).pathname;
}

/** The button of a sign-in link's page, pressed. */
export function useLink(t: TestApp, path: string, origin = PUBLIC_URL) {
  return t.request({ method: 'POST', url: path, headers: { origin } });
}

/** The member cookie a response sets, whole (attributes included). */
export function memberCookieOf(response: { headers: Record<string, unknown> }): string {
  const headers = [response.headers['set-cookie']].flat().filter((c): c is string => typeof c === 'string');
  const header = headers.find((c) => c.startsWith('depeche_member='));
  if (!header) throw new Error('No member cookie');
  return header;
}

/** Every queued link request handled: what was to be mailed has been. */
export async function linksHandled(t: TestApp): Promise<void> {
  const queue = t.app.get<Queue>(getQueueToken(MEMBERS_QUEUE));
  await eventually(async () => {
    const counts = await queue.getJobCounts('wait', 'active', 'delayed', 'prioritized');
    return Object.values(counts).every((n) => n === 0) ? true : undefined;
  });
}

/**
 * Signs a member in the way a reader does (the form, the link caught at the SMTP server, its
 * button) and returns the `name=value` Cookie header their browser then sends.
 */
export async function signedIn(t: TestApp, sink: SmtpSink, email: string): Promise<string> {
  const before = sink.to(email).length;
  expect((await askForLink(t, email)).statusCode).toBe(200);
  const mails = await sink.waitFor(email, before + 1);
  const answer = await useLink(t, signInLinkIn(mails[before]!));
  expect(answer.statusCode).toBe(303);
  return memberCookieOf(answer).split(';')[0]!;
}
