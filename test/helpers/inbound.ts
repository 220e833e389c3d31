import { readFileSync } from 'node:fs';
import path from 'node:path';
import nodemailer from 'nodemailer';

/** The fields a message of the corpus (test/fixtures/inbound) leaves to fill in. */
export interface CorpusFields {
  readonly VERP: string;
  readonly FEEDBACK_ADDRESS?: string;
  readonly UNSUBSCRIBE_ADDRESS?: string;
  readonly RECIPIENT: string;
  readonly MESSAGE_ID: string;
  readonly SUBJECT?: string;
  readonly TOKEN?: string;
}

/** A message of the corpus, filled in as a report about one copy, with CRLF line endings. */
export function fromCorpus(name: string, fields: CorpusFields): string {
  let text = readFileSync(path.resolve('test/fixtures/inbound', name), 'utf8');
  const all: Record<string, string | undefined> = {
    SUBJECT: '=?UTF-8?Q?Syrie=C2=A0:_la_lettre?=',
    ...fields,
  };
  for (const [key, value] of Object.entries(all))
    if (value !== undefined) text = text.replaceAll(`{{${key}}}`, value);
  return text.replace(/\r?\n/g, '\r\n');
}

/** Hands a message to an SMTP listener as a mail server would, by default with the null sender of reports. */
export async function sendInbound(port: number, to: string | string[], raw: string | Buffer, from = '') {
  const transport = nodemailer.createTransport({ host: '127.0.0.1', port, secure: false, ignoreTLS: true });
  try {
    return await transport.sendMail({ envelope: { from, to }, raw });
  } finally {
    transport.close();
  }
}

/** The bounce address of the tests, and the listener on a port of its own. */
export const INBOUND_ENV = {
  VERP_ADDRESS: 'retours@blog.example.test',
  INBOUND_SMTP_PORT: '0',
  INBOUND_SMTP_HOST: '127.0.0.1',
} as const;
