import type { DeliveryOutcome } from './deliveries.repository.js';

/** Writes a group of outcomes to the ledger; answers whether the edition is still being sent, read as they were written. */
export type OutcomeWriter = (outcomes: readonly DeliveryOutcome[]) => Promise<boolean>;

/**
 * The outcomes of a leased chunk on their way to the ledger, written in groups while the chunk goes
 * out, so that its SMTP sessions never wait on the database. It bounds what a crash costs: at most
 * `window` rows are ever taken (handed to SMTP, or about to be) and not yet recorded, so a crash
 * sends no more than that twice, and a cancel, which each group's write reads, lets no more than
 * that go out after it. Groups are written one after the other, in order.
 */
export class OutcomeWindow {
  private taken = 0;
  private recorded = 0;
  private group: DeliveryOutcome[] = [];
  private writing: Promise<void> = Promise.resolve();
  private failure: { readonly error: unknown } | undefined;
  private stillSending = true;
  private readonly waiting: (() => void)[] = [];

  constructor(
    private readonly write: OutcomeWriter,
    private readonly groupSize: number,
    private readonly window: number,
  ) {
    if (groupSize > window) throw new Error('A group of outcomes must fit in the window');
  }

  /** No more rows may be taken: the edition stopped being sent, or a write failed. */
  get closed(): boolean {
    return this.failure !== undefined || !this.stillSending;
  }

  /** Whether the edition stopped being sent (a cancel), as the last group written read it. */
  get cancelled(): boolean {
    return !this.stillSending;
  }

  /** Waits for room to take one more row; false when none may be taken (see closed). */
  async take(): Promise<boolean> {
    while (!this.closed && this.taken - this.recorded >= this.window) {
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    }
    if (this.closed) return false;
    this.taken += 1;
    return true;
  }

  /** A taken row's outcome, or one of a row never taken (skipped); written with its group. */
  add(outcome: DeliveryOutcome, taken: boolean): void {
    this.group.push(outcome);
    if (!taken) this.taken += 1;
    if (this.group.length >= this.groupSize) this.flush();
  }

  /** Writes what is left, waits for every write; throws the first write's failure. */
  async finish(): Promise<void> {
    this.flush();
    await this.writing;
    if (this.failure) throw this.failure.error;
  }

  private flush(): void {
    const group = this.group;
    if (group.length === 0) return;
    this.group = [];
    this.writing = this.writing.then(async () => {
      if (this.failure) return;
      try {
        if (!(await this.write(group))) this.stillSending = false;
        this.recorded += group.length;
      } catch (error) {
        this.failure = { error };
      }
      for (const wake of this.waiting.splice(0)) wake();
    });
  }
}
