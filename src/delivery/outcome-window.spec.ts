import { describe, expect, it } from 'vitest';
import type { DeliveryOutcome } from './deliveries.repository.js';
import { OutcomeWindow, TakenRows } from './outcome-window.js';

function outcome(seq: number): DeliveryOutcome {
  return { subscriberId: `s${seq}`, seq, status: 'sent', messageId: `<${seq}@x>`, smtpResponse: '250 Ok' };
}

/** A ledger whose writes answer only when told to, one by one. */
function heldLedger() {
  const writes: { outcomes: readonly DeliveryOutcome[]; answer: (sending: boolean | Error) => void }[] = [];
  const write = (outcomes: readonly DeliveryOutcome[]) =>
    new Promise<boolean>((resolve, reject) => {
      writes.push({
        outcomes,
        answer: (sending) => {
          if (sending instanceof Error) reject(sending);
          else resolve(sending);
        },
      });
    });
  return { writes, write };
}

/** Lets every settled promise run its callbacks. */
const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('OutcomeWindow', () => {
  it('never lets more rows be taken than the window while their outcomes are not written', async () => {
    const ledger = heldLedger();
    const window = new OutcomeWindow(ledger.write, 2, new TakenRows(4));
    let next = 0;
    let taken = 0;
    const lanes = Array.from({ length: 3 }, async () => {
      while (next < 10) {
        const seq = next++;
        expect(await window.take()).toBe(true);
        taken += 1;
        window.add(outcome(seq), true);
      }
    });
    let answered = 0;
    // Ten outcomes, two a write: five writes, each answered once the lanes wait on it.
    while (answered < 5) {
      await settle();
      // Two outcomes a write: the lanes wait on the window, and on nothing else.
      if (taken < 10) expect(taken - 2 * answered).toBe(4);
      else expect(taken - 2 * answered).toBeLessThanOrEqual(4);
      ledger.writes[answered]!.answer(true);
      answered += 1;
    }
    await Promise.all(lanes);
    await window.finish();
    expect(ledger.writes.flatMap((w) => w.outcomes.map((o) => o.seq))).toEqual([
      0, 1, 2, 3, 4, 5, 6, 7, 8, 9,
    ]);
  });

  it('closes once a write reads that the edition is no longer sent, and says it was cancelled', async () => {
    const ledger = heldLedger();
    const window = new OutcomeWindow(ledger.write, 1, new TakenRows(2));
    expect(await window.take()).toBe(true);
    window.add(outcome(0), true);
    await settle();
    ledger.writes[0]!.answer(false);
    await settle();
    expect(window.closed).toBe(true);
    expect(window.cancelled).toBe(true);
    expect(await window.take()).toBe(false);
    window.add({ ...outcome(1), status: 'skipped' }, false);
    const finished = window.finish();
    await settle();
    ledger.writes[1]!.answer(false);
    await finished;
    expect(ledger.writes.map((w) => w.outcomes[0]?.status)).toEqual(['sent', 'skipped']);
  });

  it('closes on a failed write, writes nothing after it, and throws it at the end', async () => {
    const ledger = heldLedger();
    const window = new OutcomeWindow(ledger.write, 1, new TakenRows(3));
    await window.take();
    window.add(outcome(0), true);
    await window.take();
    window.add(outcome(1), true);
    await settle();
    ledger.writes[0]!.answer(new Error('the ledger is unreachable'));
    await settle();
    expect(window.closed).toBe(true);
    expect(window.cancelled).toBe(false);
    expect(await window.take()).toBe(false);
    await expect(window.finish()).rejects.toThrow('the ledger is unreachable');
    expect(ledger.writes).toHaveLength(1);
  });

  it('shares the rows in flight between the chunks sent at once, and never leaves them waiting on each other', async () => {
    const rows = new TakenRows(4);
    const written: number[] = [];
    let mostInFlight = 0;
    // Groups of three that two chunks of two lanes each can never fill while four rows are out:
    // each chunk must write what it holds when no room is left, or both wait forever.
    const chunk = async (first: number): Promise<void> => {
      const window = new OutcomeWindow(
        async (outcomes) => {
          await settle();
          written.push(...outcomes.map((o) => o.seq));
          return true;
        },
        3,
        rows,
      );
      let next = first;
      const lanes = Array.from({ length: 2 }, async () => {
        while (next < first + 20) {
          const seq = next++;
          expect(await window.take()).toBe(true);
          mostInFlight = Math.max(mostInFlight, rows.taken);
          await settle();
          window.add(outcome(seq), true);
        }
      });
      await Promise.all(lanes);
      await window.finish();
    };
    await Promise.all([chunk(0), chunk(100)]);
    expect(mostInFlight).toBe(4);
    expect(rows.taken).toBe(0);
    expect(written.sort((a, b) => a - b)).toEqual([
      ...Array.from({ length: 20 }, (_, i) => i),
      ...Array.from({ length: 20 }, (_, i) => 100 + i),
    ]);
    // Waiting forever is the failure: a few milliseconds of work, given plenty of time.
  }, 10_000);

  it('gives up the rows of a failed write when its chunk ends, so that other chunks go on', async () => {
    const rows = new TakenRows(2);
    const failing = new OutcomeWindow(() => Promise.reject(new Error('the ledger is unreachable')), 1, rows);
    expect(await failing.take()).toBe(true);
    expect(await failing.take()).toBe(true);
    failing.add(outcome(0), true);
    failing.add(outcome(1), true);
    await settle();
    expect(failing.closed).toBe(true);
    expect(rows.full).toBe(true);
    await expect(failing.finish()).rejects.toThrow('the ledger is unreachable');
    expect(rows.taken).toBe(0);
    const next = new OutcomeWindow(() => Promise.resolve(true), 1, rows);
    expect(await next.take()).toBe(true);
  });
});
