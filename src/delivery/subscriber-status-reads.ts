type Read = (ids: readonly string[]) => Promise<Set<string>>;

interface Batch {
  readonly ids: Set<string>;
  readonly result: Promise<Set<string>>;
}

/**
 * Whether a subscriber has left, read from the database after the question was asked: a read that
 * was already under way when it was asked never answers it, so an unsubscribe committed before the
 * question is always seen. Questions asked while a read is under way share the next one, so a
 * worker's lanes cost one query per round of messages rather than one per message.
 */
export class SubscriberStatusReads {
  private next: Batch | undefined;
  private inFlight: Promise<unknown> = Promise.resolve();

  constructor(private readonly read: Read) {}

  async gone(subscriberId: string): Promise<boolean> {
    let batch = this.next;
    if (!batch) {
      const ids = new Set<string>();
      const result = this.inFlight.then(() => {
        // From here on, new questions wait for the read after this one.
        this.next = undefined;
        return this.read([...ids]);
      });
      this.inFlight = result.catch(() => undefined);
      batch = { ids, result };
      this.next = batch;
    }
    batch.ids.add(subscriberId);
    return (await batch.result).has(subscriberId);
  }
}
