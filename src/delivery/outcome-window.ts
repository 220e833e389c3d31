import type { DeliveryOutcome } from './deliveries.repository.js';

/** Writes a group of outcomes to the ledger; answers whether the edition is still being sent, read as they were written. */
export type OutcomeWriter = (outcomes: readonly DeliveryOutcome[]) => Promise<boolean>;

/**
 * The rows a worker process has taken (handed to SMTP, or about to be) and not yet recorded, across
 * every chunk it sends at once: what a crash of the process may send twice, and what may still go
 * out after a cancel. Chunks sent side by side share it, so sending two at once risks no more.
 */
export class TakenRows {
  private count = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(readonly limit: number) {
    if (limit < 1) throw new Error('At least one row must be allowed in flight');
  }

  get full(): boolean {
    return this.count >= this.limit;
  }

  get taken(): number {
    return this.count;
  }

  take(): void {
    this.count += 1;
  }

  /** Rows recorded, or given up on (their write failed): room for as many. */
  release(rows: number): void {
    this.count -= rows;
    this.wake();
  }

  /** Every waiter looks again: at the room left, or at its window having closed. */
  wake(): void {
    for (const resume of this.waiting.splice(0)) resume();
  }

  /** Resolves at the next release. */
  room(): Promise<void> {
    return new Promise((resolve) => this.waiting.push(resolve));
  }
}

/**
 * The outcomes of a leased chunk on their way to the ledger, written in groups while the chunk goes
 * out, so that its SMTP sessions never wait on the database. Every row it takes counts against the
 * process's TakenRows until its outcome is written: a crash sends no more than that limit twice, and
 * a cancel, which each group's write reads, lets no more than that go out after it. Groups are
 * written one after the other, in order.
 */
export class OutcomeWindow {
  /** Rows this window took that are neither recorded nor given up on. */
  private held = 0;
  private group: DeliveryOutcome[] = [];
  /** How many of the group's rows were taken (the others were skipped without being taken). */
  private groupTaken = 0;
  private writing: Promise<void> = Promise.resolve();
  private writes = 0;
  private failure: { readonly error: unknown } | undefined;
  private stillSending = true;

  constructor(
    private readonly write: OutcomeWriter,
    private readonly groupSize: number,
    private readonly rows: TakenRows,
  ) {
    if (groupSize > rows.limit) throw new Error('A group of outcomes must fit in the rows allowed in flight');
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
    while (!this.closed && this.rows.full) {
      // With no write of its own under way, what this window holds is written now rather than
      // when its group fills: windows waiting on each other's groups would otherwise wait forever.
      if (this.writes === 0) this.flush();
      await this.rows.room();
    }
    if (this.closed) return false;
    this.rows.take();
    this.held += 1;
    return true;
  }

  /**
   * A taken row's outcome, or one of a row never taken (skipped); written with its group, or at
   * once when no room is left and no write of this window is under way (see take).
   */
  add(outcome: DeliveryOutcome, taken: boolean): void {
    this.group.push(outcome);
    if (taken) this.groupTaken += 1;
    if (this.group.length >= this.groupSize || (this.rows.full && this.writes === 0)) this.flush();
  }

  /**
   * Writes what is left, waits for every write; throws the first write's failure. The rows of
   * writes that failed are given up on here: their chunk's lease keeps them until it runs out.
   */
  async finish(): Promise<void> {
    this.flush();
    await this.writing;
    this.rows.release(this.held);
    this.held = 0;
    if (this.failure) throw this.failure.error;
  }

  private flush(): void {
    const group = this.group;
    const taken = this.groupTaken;
    if (group.length === 0) return;
    this.group = [];
    this.groupTaken = 0;
    this.writes += 1;
    this.writing = this.writing.then(async () => {
      try {
        if (this.failure) return;
        if (!(await this.write(group))) this.stillSending = false;
        this.held -= taken;
        this.rows.release(taken);
      } catch (error) {
        this.failure = { error };
        // Lanes waiting for room see the window closed.
        this.rows.wake();
      } finally {
        this.writes -= 1;
      }
    });
  }
}
