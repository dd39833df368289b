// CPU time of a server under test, read from /proc (Linux): user + system of
// a process and of every process it forked (nginx's worker does the work, not
// its master; a process's own figure counts all its threads, the journal
// worker included). Clock ticks are 1/100 s.
import { readdirSync, readFileSync } from 'node:fs';

function ownCpuSeconds(pid: number): number {
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
      total += ownCpuSeconds(p);
      todo.push(...childrenOf(p));
    } catch {
      // Exited between the listing and the read.
    }
  }
  return total;
}
