import { describe, expect, it } from 'vitest';
import { PageSlots } from './page-slots.js';

describe('a page cut at its slots', () => {
  const slots = new PageSlots<'name' | 'text'>(['name', 'text']);

  it('fills each slot where its marker was, as often as it came, in UTF-8', () => {
    const page = slots.cut(
      `<p>${slots.marker('name')}</p><div>${slots.marker('text')}</div><i>${slots.marker('name')}</i>`,
    );
    expect(page.fill({ name: 'Léa', text: Buffer.from('« déjà »', 'utf8') }).toString('utf8')).toBe(
      '<p>Léa</p><div>« déjà »</div><i>Léa</i>',
    );
    expect(page.fill({ name: 'Paul', text: '' }).toString('utf8')).toBe('<p>Paul</p><div></div><i>Paul</i>');
  });

  it('leaves a page without markers whole, and text that only looks like one alone', () => {
    expect(slots.cut('<p>Aucune place</p>').fill({ name: 'x', text: 'y' }).toString()).toBe(
      '<p>Aucune place</p>',
    );
    const lookalike = slots.marker('name').replace(/^slot0/, 'slot9');
    expect(slots.cut(`<p>slot-0 ${lookalike}</p>`).fill({ name: 'x', text: 'y' }).toString()).toBe(
      `<p>slot-0 ${lookalike}</p>`,
    );
  });

  it('gives each set of slots markers of its own, which escaping leaves as they are', () => {
    const other = new PageSlots<'name'>(['name']);
    expect(other.marker('name')).not.toBe(slots.marker('name'));
    expect(slots.marker('text')).toMatch(/^[a-z0-9-]+$/);
  });
});
