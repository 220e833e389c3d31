import { readdirSync, readFileSync } from 'node:fs';

/** Clock ticks per second of /proc's times: 100 on every Linux this runs on. */
const TICKS_PER_SECOND = 100;

/** CPU seconds (user and system) each process has used so far, by pid; gone ones are left out. */
function cpuSecondsByPid(pids: readonly number[]): Map<number, number> {
  const seconds = new Map<number, number>();
  for (const pid of pids) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      // Fields after the parenthesised command name: utime and stime are the 12th and 13th.
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      seconds.set(pid, (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND);
    } catch {
      // exited meanwhile
    }
  }
  return seconds;
}

/** The pids of the processes whose command is one of these (postgres, redis-server…). */
function pidsOf(commands: readonly string[]): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (commands.includes(readFileSync(`/proc/${entry}/comm`, 'utf8').trim())) pids.push(Number(entry));
    } catch {
      // exited meanwhile
    }
  }
  return pids;
}

/**
 * CPU time spent by groups of processes between `start()` and the reading: the service's
 * workers, PostgreSQL (every backend, the one a worker uses and those it spawns) and Redis.
 */
export function cpuMeter(
  groups: Readonly<Record<string, { pids?: readonly number[]; commands?: readonly string[] }>>,
) {
  const pidsFor = (group: { pids?: readonly number[]; commands?: readonly string[] }) => [
    ...(group.pids ?? []),
    ...(group.commands ? pidsOf(group.commands) : []),
  ];
  const before = new Map(
    Object.entries(groups).map(([name, group]) => [name, cpuSecondsByPid(pidsFor(group))]),
  );
  return {
    /** CPU seconds per group since the meter started; a process born meanwhile counts from zero. */
    read(): Record<string, number> {
      return Object.fromEntries(
        Object.entries(groups).map(([name, group]) => {
          const start = before.get(name) ?? new Map<number, number>();
          let used = 0;
          for (const [pid, now] of cpuSecondsByPid(pidsFor(group))) used += now - (start.get(pid) ?? 0);
          return [name, Number(used.toFixed(2))];
        }),
      );
    },
  };
}
