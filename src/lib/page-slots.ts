import { randomBytes } from 'node:crypto';

/**
 * A page rendered once with a marker where each slot goes, cut at the markers and kept as bytes:
 * filling it encodes this request's slot values alone and joins the bytes, which costs a copy
 * instead of a render and an encoding of the whole page.
 */
export class SlottedPage<Slot extends string> {
  /** The bytes between slots: one more part than `order` has slots. */
  private readonly parts: readonly Buffer[];

  constructor(
    parts: readonly string[],
    /** The slot after each part but the last, in the page's order. */
    private readonly order: readonly Slot[],
  ) {
    this.parts = parts.map((part) => Buffer.from(part, 'utf8'));
  }

  fill(values: Readonly<Record<Slot, string | Buffer>>): Buffer {
    const chunks: Buffer[] = [this.parts[0] ?? Buffer.alloc(0)];
    for (let index = 0; index < this.order.length; index += 1) {
      const value = values[this.order[index] as Slot];
      chunks.push(typeof value === 'string' ? Buffer.from(value, 'utf8') : value);
      chunks.push(this.parts[index + 1] ?? Buffer.alloc(0));
    }
    return Buffer.concat(chunks);
  }
}

/**
 * The markers of a page's slots: random for each process, so that no text a page shows (an
 * article, a name) can be taken for one; letters, digits and dashes only, so that escaping in a
 * template leaves them as they are.
 */
export class PageSlots<Slot extends string> {
  private readonly markers: ReadonlyMap<Slot, string>;
  private readonly slotOf: ReadonlyMap<string, Slot>;
  private readonly pattern: RegExp;

  constructor(slots: readonly Slot[]) {
    const nonce = randomBytes(12).toString('hex');
    // The slot's number before the nonce: no marker is the start of another.
    this.markers = new Map(slots.map((slot, index) => [slot, `slot${index}-${nonce}`]));
    this.slotOf = new Map([...this.markers].map(([slot, marker]) => [marker, slot]));
    this.pattern = new RegExp(`(${[...this.markers.values()].join('|')})`);
  }

  /** What the template is given in the slot's place. */
  marker(slot: Slot): string {
    return this.markers.get(slot) ?? '';
  }

  /** A page rendered with markers, cut at them; a slot may be absent, or come more than once. */
  cut(rendered: string): SlottedPage<Slot> {
    // split() with a group gives text, marker, text…: the texts at even places.
    const pieces = rendered.split(this.pattern);
    const parts = pieces.filter((_, index) => index % 2 === 0);
    const order = pieces
      .filter((_, index) => index % 2 === 1)
      .map((marker) => this.slotOf.get(marker) as Slot);
    return new SlottedPage(parts, order);
  }
}
