import { simpleParser } from 'mailparser';
import { describe, expect, it } from 'vitest';
import { formatAddress, PreparedMessage, RECIPIENT_MARKERS } from './prepared-message.js';
import { dotStuffed, isEightBitMime } from './smtp-client.js';

const subject = "Syrie\u00a0: Daech s'empare d'Al-Qaryatayn — « l'analyse complète » de la semaine";

function prepared(): PreparedMessage {
  return new PreparedMessage({
    from: formatAddress('Le Blog de Dépêche', 'lettre@blog.example'),
    replyTo: 'redaction@blog.example',
    subject,
    html: `<p>Bonjour ${RECIPIENT_MARKERS.name},</p><p>${'é'.repeat(200)}</p><a href="${RECIPIENT_MARKERS.unsubscribeUrl}">Se désinscrire</a> <a href="${RECIPIENT_MARKERS.preferencesUrl}">Préférences</a> <a href="${RECIPIENT_MARKERS.webVersionUrl}">En ligne</a> <a href="https://blog.example/articles/syrie${RECIPIENT_MARKERS.readerQuery}">Lire la suite</a>`,
    text: `Bonjour ${RECIPIENT_MARKERS.name},\n\nSe désinscrire : ${RECIPIENT_MARKERS.unsubscribeUrl}`,
    listId: 'newsletter.blog.example',
    feedbackId: 'e1:free:depeche',
  });
}

const recipient = {
  email: 'lectrice@exemple.fr',
  name: 'Hélène <Dupont> & "fils"',
  messageId: '<e1.s1@blog.example>',
  unsubscribeUrl: 'https://blog.example/unsubscribe/abc.def',
  unsubscribeMailto: 'mailto:lettre@blog.example?subject=unsubscribe%20abc.def',
  preferencesUrl: 'https://blog.example/preferences/abc.def',
  webVersionUrl: 'https://blog.example/editions/e1/abc.ghi',
  readerQuery: '?edition=e1&reader=abc.ghi',
  clickUrl: (linkId: string) => `https://blog.example/r/${linkId}`,
};

describe('PreparedMessage', () => {
  it('splices each recipient into a well-formed multipart/alternative message', async () => {
    const raw = prepared().forRecipient(recipient, new Date('2026-11-24T17:00:00Z'));
    const text = raw.toString('utf8');
    // Quoted-printable keeps every line within RFC 2045's 76 characters, and none starts with a dot.
    const body = text.slice(text.indexOf('\r\n\r\n'));
    expect(body.split('\r\n').filter((line) => line.length > 76 || line.startsWith('.'))).toEqual([]);
    expect(text).not.toMatch(/[^\r]\n/);
    expect(text.match(/Content-Transfer-Encoding: quoted-printable/g)).toHaveLength(2);
    const mail = await simpleParser(raw);
    expect(mail.subject).toBe(subject);
    expect(mail.from?.value).toEqual([{ address: 'lettre@blog.example', name: 'Le Blog de Dépêche' }]);
    expect(mail.to).toMatchObject({
      value: [{ address: 'lectrice@exemple.fr', name: 'Hélène <Dupont> & "fils"' }],
    });
    expect(mail.messageId).toBe('<e1.s1@blog.example>');
    expect(mail.date?.toISOString()).toBe('2026-11-24T17:00:00.000Z');
    expect(mail.headers.get('precedence')).toBe('bulk');
    expect(mail.headers.get('feedback-id')).toBe('e1:free:depeche');
    // mailparser gathers the List-* headers under "list".
    expect(mail.headers.get('list')).toEqual({
      id: { name: 'newsletter.blog.example' },
      unsubscribe: {
        url: recipient.unsubscribeUrl,
        mail: 'lettre@blog.example?subject=unsubscribe%20abc.def',
      },
      'unsubscribe-post': { name: 'List-Unsubscribe=One-Click' },
    });
    expect(mail.text).toBe(`Bonjour ${recipient.name},\n\nSe désinscrire : ${recipient.unsubscribeUrl}`);
    expect(mail.html).toContain('<p>Bonjour Hélène &lt;Dupont&gt; &amp; &quot;fils&quot;,</p>');
    expect(mail.html).toContain(`<a href="${recipient.preferencesUrl}">`);
    expect(mail.html).toContain(`<a href="${recipient.webVersionUrl}">`);
    expect(mail.html).toContain(
      '<a href="https://blog.example/articles/syrie?edition=e1&amp;reader=abc.ghi">',
    );
    expect(mail.html).toContain('é'.repeat(200));
    // RFC 2046: the preferred alternative, HTML, comes last.
    expect(text.indexOf('Content-Type: text/plain')).toBeLessThan(text.indexOf('Content-Type: text/html'));
  });

  it('is sent without a scan for leading dots, unless a header has one', () => {
    const raw = prepared().forRecipient(recipient);
    expect(
      raw
        .toString('latin1')
        .split('\r\n')
        .filter((line) => line.startsWith('.')),
    ).toEqual([]);
    expect(dotStuffed(raw)).toBe(raw);
    // Subjects are one line by validation; were one not, its dot would still be doubled.
    const odd = new PreparedMessage({
      from: 'lettre@blog.example',
      subject: 'Un\r\n.\r\nQUIT',
      html: '<p>.</p>',
      text: '.',
      listId: 'newsletter.blog.example',
      feedbackId: 'e1:free:depeche',
    }).forRecipient(recipient);
    expect(dotStuffed(odd).toString('latin1')).toContain('Subject: Un\r\n..\r\nQUIT');
  });

  it('gives each recipient their own values and nothing of another', async () => {
    const message = prepared();
    const other = {
      ...recipient,
      email: 'autre@exemple.fr',
      name: 'Autre',
      messageId: '<e1.s2@blog.example>',
    };
    const first = await simpleParser(message.forRecipient(recipient));
    const second = await simpleParser(message.forRecipient(other));
    expect(second.to).toMatchObject({ value: [{ address: 'autre@exemple.fr', name: 'Autre' }] });
    expect(second.text).toContain('Bonjour Autre,');
    expect(second.html).not.toContain('Hélène');
    expect(first.text).not.toContain('Autre');
  });

  it('formats addresses with quoted or encoded names', () => {
    expect(formatAddress('', 'a@b.fr')).toBe('<a@b.fr>');
    expect(formatAddress('Jean, dit "le Grand"', 'a@b.fr')).toBe('"Jean, dit \\"le Grand\\"" <a@b.fr>');
    expect(formatAddress('Hélène', 'a@b.fr')).toBe('=?UTF-8?Q?H=C3=A9l=C3=A8ne?= <a@b.fr>');
  });

  describe('in 8bit', () => {
    /** What a server makes of DATA: a line's doubled dot made single again (RFC 5321 4.5.2). */
    const received = (raw: Buffer): Buffer =>
      Buffer.from(
        raw
          .toString('latin1')
          .replace(/^\.\./, '.')
          .replace(/\r\n\.\./g, '\r\n.'),
        'latin1',
      );
    const lines = (raw: Buffer): string[] => raw.toString('latin1').split('\r\n');

    it('carries the same text in fewer bytes, each line within 998 bytes, marked for BODY=8BITMIME', async () => {
      const message = prepared();
      const date = new Date('2026-11-24T17:00:00Z');
      const quoted = message.forRecipient(recipient, date);
      const eight = message.forRecipient(recipient, date, '8bit');
      expect(isEightBitMime(eight)).toBe(true);
      expect(isEightBitMime(quoted)).toBe(false);
      expect(eight.length).toBeLessThan(quoted.length * 0.8);
      expect(eight.toString('latin1').match(/Content-Transfer-Encoding: 8bit/g)).toHaveLength(2);
      expect(eight.toString('utf8')).toContain('é'.repeat(200));
      expect(eight.toString('latin1')).not.toMatch(/[^\r]\n|\r[^\n]/);
      expect(lines(eight).filter((line) => line.length > 998)).toEqual([]);
      expect(dotStuffed(eight)).toBe(eight);
      const [fromQuoted, fromEight] = await Promise.all([
        simpleParser(quoted),
        simpleParser(received(eight)),
      ]);
      expect(fromEight.text).toBe(fromQuoted.text);
      expect(fromEight.html).toBe(fromQuoted.html);
      expect(fromEight.subject).toBe(subject);
      expect(fromEight.to).toEqual(fromQuoted.to);
    });

    it('doubles every dot that starts a line, in the text and where a value puts one', async () => {
      const message = new PreparedMessage({
        from: 'lettre@blog.example',
        subject: 'Points',
        html: `<p>\n.un</p>\n${RECIPIENT_MARKERS.name}<p>\n${RECIPIENT_MARKERS.readerQuery}.deux</p>`,
        text: `.trois\n${RECIPIENT_MARKERS.name}\n${RECIPIENT_MARKERS.readerQuery}.quatre`,
        listId: 'newsletter.blog.example',
        feedbackId: 'e1:free:depeche',
      });
      for (const readerQuery of ['', '?r=1']) {
        const eight = message.forRecipient(
          { ...recipient, name: '.Hélène', readerQuery },
          new Date(),
          '8bit',
        );
        expect(isEightBitMime(eight)).toBe(true);
        const dotted = lines(eight).filter((line) => line.startsWith('.'));
        expect(dotted.length).toBeGreaterThan(0);
        expect(dotted.filter((line) => !line.startsWith('..'))).toEqual([]);
        const mail = await simpleParser(received(eight));
        expect(mail.text).toBe(`.trois\n.Hélène\n${readerQuery}.quatre`);
        expect(mail.html).toBe(`<p>\n.un</p>\n.Hélène<p>\n${readerQuery}.deux</p>`);
      }
    });

    it('goes in quoted-printable where a line would pass 998 bytes or a value holds a line break', async () => {
      const long = (html: string) =>
        new PreparedMessage({
          from: 'lettre@blog.example',
          subject: 'Long',
          html,
          text: `Bonjour ${RECIPIENT_MARKERS.name}`,
          listId: 'newsletter.blog.example',
          feedbackId: 'e1:free:depeche',
        });
      // A line of the text itself.
      expect(
        isEightBitMime(long(`<p>${'à'.repeat(600)}</p>`).forRecipient(recipient, new Date(), '8bit')),
      ).toBe(false);
      // A line short enough alone, which this recipient's link makes too long.
      const nearly = long(`<p>${'a'.repeat(930)}<a href="${RECIPIENT_MARKERS.unsubscribeUrl}">x</a></p>`);
      expect(isEightBitMime(nearly.forRecipient(recipient, new Date(), '8bit'))).toBe(true);
      const far = { ...recipient, unsubscribeUrl: `https://blog.example/unsubscribe/${'b'.repeat(60)}` };
      const quoted = nearly.forRecipient(far, new Date(), '8bit');
      expect(isEightBitMime(quoted)).toBe(false);
      expect((await simpleParser(quoted)).html).toContain(far.unsubscribeUrl);
      // A name with a line break in it: quoted-printable writes it as =0A, 8bit could not.
      const broken = { ...recipient, name: 'Hélène\r\n.\r\nQUIT' };
      const copy = prepared().forRecipient(broken, new Date(), '8bit');
      expect(isEightBitMime(copy)).toBe(false);
      expect(copy.toString('latin1')).not.toContain('\r\n.\r\n');
    });
  });
});
