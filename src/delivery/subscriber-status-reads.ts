/**
 * A read shared by the questions asked in one turn of the event loop, started after all of them:
 * a read already under way when a question was asked never answers it.
 */
class FreshRead<T> {
  private pending: Promise<T> | undefined;

  constructor(private readonly read: () => Promise<T>) {}

  get(): Promise<T> {
    this.pending ??= Promise.resolve().then(() => {
      this.pending = undefined;
      return this.read();
    });
    return this.pending;
  }
}

/**
 * Whether a subscriber of a chunk has left, as of the moment of asking. The chunk's statuses are
 * read once from the database with the departures counter read just before; for each message the
 * counter is read again, and only when somebody left since (or Redis cannot say) are the statuses
 * read again. So an unsubscribe that has answered (its counter raised) is seen by every message
 * not yet handed over, for one Redis read per turn of the lanes.
 */
export class SubscriberStatusReads {
  private readonly counter: FreshRead<number | undefined>;
  private readonly statuses: FreshRead<{ counter: number | undefined; inactive: Set<string> }>;
  private known: { counter: number | undefined; inactive: Set<string> } | undefined;

  constructor(
    subscriberIds: readonly string[],
    departures: () => Promise<number | undefined>,
    inactiveAmong: (ids: readonly string[]) => Promise<Set<string>>,
  ) {
    this.counter = new FreshRead(departures);
    this.statuses = new FreshRead(async () => {
      const counter = await departures();
      return { counter, inactive: await inactiveAmong(subscriberIds) };
    });
  }

  async gone(subscriberId: string): Promise<boolean> {
    const counter = await this.counter.get();
    if (counter === undefined || this.known?.counter !== counter) this.known = await this.statuses.get();
    return this.known.inactive.has(subscriberId);
  }
}
