import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readSync, rmSync, fstatSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort } from '../../test/helpers/net.js';
import { ROOT } from './service.js';

const POSTFIX_SINK = '/usr/sbin/smtp-sink';
/** How often the sink's counter is read: the resolution of the timings. */
const POLL_MS = 10;
const POSTFIX_SOURCE = '/usr/sbin/smtp-source';

let nodeToolsOnly = false;

/** Use the Node sink and blaster even where Postfix's tools are installed (to check them). */
export function useNodeTools(): void {
  nodeToolsOnly = true;
}

export function postfixTools(): boolean {
  return !nodeToolsOnly && existsSync(POSTFIX_SINK) && existsSync(POSTFIX_SOURCE);
}

export function postfixSourcePath(): string {
  return POSTFIX_SOURCE;
}

/** An SMTP sink in its own process that counts what it accepts, and when. */
export interface Sink {
  readonly kind: 'postfix smtp-sink' | 'smtp-server counter';
  readonly port: number;
  /** Messages accepted so far. */
  count(): number;
  /** performance.now() when the first message was accepted, or undefined. */
  firstAt(): number | undefined;
  /** Waits until `n` messages arrived; resolves with performance.now() at the n-th. */
  waitFor(n: number, timeoutMs: number): Promise<number>;
  stop(): Promise<void>;
}

export async function startSink(): Promise<Sink> {
  const port = await freePort();
  // The counter goes to a file that is read a few times a second: reading a pipe that receives a
  // line per message would cost the measuring process a wake-up per message, and the service a core.
  const dir = mkdtempSync(path.join(tmpdir(), 'depeche-sink-'));
  const counterFile = path.join(dir, 'counter');
  const out = openSync(counterFile, 'w');
  let child: ChildProcess;
  let kind: Sink['kind'];
  if (postfixTools()) {
    kind = 'postfix smtp-sink';
    // -c: a running counter on stdout; -u: the user to drop to when started as root; 1024 backlog.
    const user = process.getuid?.() === 0 ? ['-u', 'nobody'] : [];
    child = spawn(POSTFIX_SINK, ['-c', ...user, '-m', '1024', `127.0.0.1:${port}`, '1024'], {
      stdio: ['ignore', out, 'inherit'],
    });
  } else {
    kind = 'smtp-server counter';
    child = spawn(
      process.execPath,
      ['--import', 'tsx', path.join(ROOT, 'bench', 'lib', 'count-sink-process.ts'), String(port)],
      { cwd: ROOT, stdio: ['ignore', out, 'inherit'] },
    );
  }
  closeSync(out);
  const reader = openSync(counterFile, 'r');
  const tailBytes = Buffer.alloc(64);
  let count = 0;
  let first: number | undefined;
  let target = Infinity;
  let targetAt: number | undefined;
  const poll = setInterval(() => {
    const now = performance.now();
    const size = fstatSync(reader).size;
    const length = readSync(reader, tailBytes, 0, Math.min(64, size), Math.max(0, size - 64));
    const text = tailBytes.toString('latin1', 0, length);
    const at = text.lastIndexOf('mesg=');
    if (at < 0) return;
    const n = parseInt(text.slice(at + 5), 10);
    if (!(n > count)) return;
    first ??= now;
    count = n;
    if (count >= target) targetAt ??= now;
  }, POLL_MS);
  const deadline = Date.now() + 10_000;
  for (;;) {
    try {
      execFileSync('bash', ['-c', `exec 3<>/dev/tcp/127.0.0.1/${port}`], { stdio: 'ignore' });
      break;
    } catch {
      if (Date.now() > deadline) throw new Error(`The ${kind} did not start`);
      await sleep(50);
    }
  }
  return {
    kind,
    port,
    count: () => count,
    firstAt: () => first,
    async waitFor(n, timeoutMs) {
      target = n;
      targetAt = count >= n ? performance.now() : undefined;
      const end = Date.now() + timeoutMs;
      while (targetAt === undefined) {
        if (Date.now() > end) throw new Error(`The sink got ${count} of ${n} messages in ${timeoutMs} ms`);
        await sleep(5);
      }
      return targetAt;
    },
    stop: async () => {
      clearInterval(poll);
      closeSync(reader);
      rmSync(dir, { recursive: true, force: true });
      if (child.exitCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    },
  };
}
