/**
 * A read that answers only questions asked before it started, shared by as many of them as it
 * can: one read at a time; the questions asked while one is under way share the next, which
 * starts as soon as it ends (and after the turn of the event loop they were asked in). Busy lanes
 * then cost one read per round trip, not one per message.
 */
export class FreshRead<T> {
  private current: { readonly read: Promise<T>; started: boolean } | undefined;
  private queued: Promise<T> | undefined;

  constructor(private readonly read: () => Promise<T>) {}

  get(): Promise<T> {
    const current = this.current;
    if (current === undefined) return this.begin();
    // Not started yet: asked in the same turn as the question that made it, so it answers both.
    if (!current.started) return current.read;
    this.queued ??= current.read.then(
      () => this.next(),
      () => this.next(),
    );
    return this.queued;
  }

  private next(): Promise<T> {
    this.queued = undefined;
    return this.current?.started === false ? this.current.read : this.begin();
  }

  private begin(): Promise<T> {
    const current: { read: Promise<T>; started: boolean } = {
      started: false,
      // Started after the questions of this turn: each of them shares this read.
      read: Promise.resolve().then(() => {
        current.started = true;
        return this.read();
      }),
    };
    this.current = current;
    const done = (): void => {
      if (this.current === current) this.current = undefined;
    };
    current.read.then(done, done);
    return current.read;
  }
}

/** The statuses of a chunk's subscribers as read from the database, and the counter read before. */
export interface KnownStatuses {
  readonly counter: number | undefined;
  readonly inactive: ReadonlySet<string>;
}

/** The departures counter as a sender may start a message on it (see Departures). */
export interface RecentCounter {
  recent(): Promise<number | undefined>;
  /** The same when known without waiting; undefined when it is not. */
  recentNow(): { readonly counter: number | undefined } | undefined;
}

/**
 * Whether a subscriber of a chunk has left, asked as a message is about to start. The chunk starts
 * from the statuses its claim read, with the departures counter read before the claim; each
 * question takes the counter from a recent read (see Departures.recent), and only when somebody
 * left since (or Redis cannot say) are the statuses read again, by a read begun after the question.
 * The usual answer needs no wait, so that a session can start the message in the same write as it
 * ends the one before (SmtpPool).
 */
export class SubscriberStatusReads {
  private readonly statuses: FreshRead<KnownStatuses>;

  constructor(
    subscriberIds: readonly string[],
    private known: KnownStatuses,
    private readonly departures: RecentCounter,
    inactiveAmong: (ids: readonly string[]) => Promise<Set<string>>,
  ) {
    this.statuses = new FreshRead(async () => {
      const counter = await departures.recent();
      return { counter, inactive: await inactiveAmong(subscriberIds) };
    });
  }

  /** Answered at once when a recent read of the counter is at hand and nobody left since the last look. */
  gone(subscriberId: string): boolean | Promise<boolean> {
    const now = this.departures.recentNow();
    if (now?.counter !== undefined && now.counter === this.known.counter)
      return this.known.inactive.has(subscriberId);
    return this.goneAfterReading(subscriberId);
  }

  private async goneAfterReading(subscriberId: string): Promise<boolean> {
    for (;;) {
      const counter = await this.departures.recent();
      if (counter !== undefined && counter === this.known.counter)
        return this.known.inactive.has(subscriberId);
      this.known = await this.statuses.get();
      // Without Redis, the database read begun after the question is the answer.
      if (this.known.counter === undefined) return this.known.inactive.has(subscriberId);
    }
  }
}
