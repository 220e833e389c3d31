import { describe, expect, it } from 'vitest';
import { copyText } from './database-client.js';

describe('copyText', () => {
  it("writes rows in COPY's text format: tabs between fields, \\N for null, its four characters escaped", () => {
    expect(
      copyText([
        ['a@exemple.fr', 'Anne', null],
        ['C:\\Lecteurs\\N', 'tab\there', 'deux\r\nlignes'],
        ['', 'Zoë « Z »', '\\'],
      ]),
    ).toBe(
      'a@exemple.fr\tAnne\t\\N\n' +
        'C:\\\\Lecteurs\\\\N\ttab\\there\tdeux\\r\\nlignes\n' +
        '\tZoë « Z »\t\\\\\n',
    );
  });
});
