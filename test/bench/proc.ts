// What /proc (Linux) says of a server under test: its resident memory, and its
// CPU time, user + system, alone or with every process it forked (nginx's
// worker does the work, not its master; a process's own figure counts all its
// threads, the journal worker included). Clock ticks are 1/100 s.
import { readdirSync, readFileSync } from 'node:fs';

/** CPU seconds used so far by `pid` (all its threads). */
export function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

function childrenOf(pid: number): number[] {
  const out: number[] = [];
  for (const task of readdirSync(`/proc/${pid}/task`)) {
    const text = readFileSync(`/proc/${pid}/task/${task}/children`, 'utf8').trim();
    if (text !== '') out.push(...text.split(' ').map(Number));
  }
  return out;
}

/** CPU seconds used so far by `pid` and its descendants still alive. */
export function treeCpuSeconds(pid: number): number {
  let total = 0;
  const todo = [pid];
  for (let p = todo.pop(); p !== undefined; p = todo.pop()) {
    try {
      total += cpuSeconds(p);
      todo.push(...childrenOf(p));
    } catch {
      // Exited between the listing and the read.
    }
  }
  return total;
}

/** Resident memory of `pid`, MiB. */
export function rssMiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : Number.NaN;
}
