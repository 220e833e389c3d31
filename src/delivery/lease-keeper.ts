/**
 * Keeps the leases a process holds alive: every `everyMs` while it holds any, it renews them all in
 * one call. A process that dies stops renewing, and its leases run out on their own.
 */
export class LeaseKeeper {
  private readonly held = new Set<string>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly renew: (ids: readonly string[]) => Promise<void>,
    private readonly everyMs: number,
    private readonly onError: (error: unknown) => void,
  ) {}

  hold(id: string): void {
    this.held.add(id);
    this.timer ??= setInterval(() => {
      this.renew([...this.held]).catch(this.onError);
    }, this.everyMs);
    // A worker's leases never keep its process alive.
    this.timer.unref();
  }

  release(id: string): void {
    this.held.delete(id);
    if (this.held.size === 0) this.stop();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }
}
