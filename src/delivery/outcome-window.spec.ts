import { describe, expect, it } from 'vitest';
import type { DeliveryOutcome } from './deliveries.repository.js';
import { OutcomeWindow } from './outcome-window.js';

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
    const window = new OutcomeWindow(ledger.write, 2, 4);
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
    const window = new OutcomeWindow(ledger.write, 1, 2);
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
    const window = new OutcomeWindow(ledger.write, 1, 3);
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
});
