import { parse } from 'csv-parse/sync';
import { describe, expect, it } from 'vitest';
import { CsvReader, type CsvItem, MAX_FIELD_CHARS } from './csv-reader.js';

/** Everything the reader gives for this text, cut into chunks at these places. */
function readAll(text: string, cuts: readonly number[] = []): CsvItem[] {
  const reader = new CsvReader();
  const items: CsvItem[] = [];
  let from = 0;
  for (const cut of [...cuts, text.length]) {
    items.push(...reader.read(text.slice(from, cut)));
    from = cut;
  }
  return [...items, ...reader.end()];
}

const records = (items: readonly CsvItem[]): [number, string[]][] =>
  items.map((item) => (item.kind === 'record' ? [item.line, item.fields] : [item.line, [item.reason]]));

describe('CsvReader', () => {
  it('reads quoted fields, doubled quotes and line breaks inside quotes, each record with its first line', () => {
    for (const newline of ['\n', '\r\n', '\r']) {
      const text = [
        '\uFEFFemail,name,tier',
        'a@exemple.fr,"Dupont, Anne",free',
        '',
        `b@exemple.fr,"Deux${newline}lignes ""citées""",premium`,
        'c@exemple.fr,,',
        '"",x',
      ].join(newline);
      expect(records(readAll(text)), JSON.stringify(newline)).toEqual([
        [1, ['email', 'name', 'tier']],
        [2, ['a@exemple.fr', 'Dupont, Anne', 'free']],
        [4, ['b@exemple.fr', `Deux${newline}lignes "citées"`, 'premium']],
        [6, ['c@exemple.fr', '', '']],
        [7, ['', 'x']],
      ]);
    }
  });

  it('reads what csv-parse reads, however the text is cut into chunks', () => {
    let seed = 7;
    const random = (n: number): number => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    const pieces = ['a', 'é', ' ', ',', '"', '\n', '\r\n', 'x@y.fr', '«', '’'];
    for (let round = 0; round < 300; round += 1) {
      const rows = Array.from({ length: 1 + random(6) }, () =>
        Array.from({ length: 1 + random(4) }, () => {
          const value = Array.from({ length: random(6) }, () => pieces[random(pieces.length)]).join('');
          return /[",\r\n]/.test(value) || random(3) === 0 ? `"${value.replace(/"/g, '""')}"` : value;
        }).join(','),
      );
      const text = rows.join(random(2) ? '\n' : '\r\n') + (random(2) ? '\n' : '');
      const parsed: string[][] = parse(text, { relax_column_count: true, skip_empty_lines: true });
      const expected = parsed.filter((row) => !(row.length === 1 && row[0] === ''));
      const cuts = [random(text.length), random(text.length)].sort((a, b) => a - b);
      const got = readAll(text, cuts).map((item) => (item.kind === 'record' ? item.fields : item.reason));
      expect(
        got.filter((fields) => !(Array.isArray(fields) && fields.length === 1 && fields[0] === '')),
        JSON.stringify(text),
      ).toEqual(expected);
    }
  });

  it('gives a malformed record with its line, and reads on at the next line', () => {
    const text = [
      'email,name,tier',
      'casse@exemple.fr,"Nom" en trop,free',
      'apres@exemple.fr,Après,free',
      'guillemet@exemple.fr,Jean "le" Grand,free',
      'fin@exemple.fr,"Jamais fermé,free',
      'perdue@exemple.fr,X,free',
    ].join('\r\n');
    expect(records(readAll(text))).toEqual([
      [1, ['email', 'name', 'tier']],
      [2, ['text after the closing quote of a field']],
      [3, ['apres@exemple.fr', 'Après', 'free']],
      [4, ['a quote inside a field that does not start with one']],
      [5, ['a quote never closed']],
    ]);
  });

  it('gives up on a field past its bound at the next line, and counts the lines it crossed', () => {
    const long = 'x'.repeat(MAX_FIELD_CHARS + 1);
    const swallowing = `"${'ligne\n'.repeat(MAX_FIELD_CHARS / 4)}`;
    const text = ['email', long, 'a@exemple.fr', swallowing, 'b@exemple.fr'].join('\n');
    const lineOfB = text.slice(0, text.indexOf('b@exemple.fr')).split('\n').length;
    const items = records(readAll(text, [100, 5000]));
    expect(items[0]).toEqual([1, ['email']]);
    expect(items[1]).toEqual([2, [expect.stringMatching(/^a field longer than/)]]);
    expect(items[2]).toEqual([3, ['a@exemple.fr']]);
    expect(items[3]).toEqual([4, [expect.stringMatching(/^a field longer than/)]]);
    expect(items.at(-1)).toEqual([lineOfB, ['b@exemple.fr']]);
  });
});
