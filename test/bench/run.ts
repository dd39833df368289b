// `npm run bench [-- NAME...]`: runs the benchmark sections in order (or only
// those named), prints one table per measured case, and keeps each section's
// results as JSON in test-output/bench/. A benchmark reports; it asserts nothing.
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { drainBench } from './drain.js';
import { fleetBench } from './fleet.js';
import { fleetReplicasBench } from './fleet-replicas.js';
import { installCleanup, repoRoot, stopAll } from './harness.js';
import { journalBench } from './journal.js';
import { linkBench } from './link.js';
import { schedulerBench, schedulerLabBench } from './scheduler.js';
import { proxyOverhead } from './proxy-overhead.js';
import { replicasBench } from './replicas.js';
import type { BenchSection } from './section.js';
import { formatTable } from './table.js';

const SECTIONS: BenchSection[] = [proxyOverhead, journalBench, schedulerBench, schedulerLabBench, linkBench, fleetBench, drainBench, replicasBench, fleetReplicasBench];

async function main(): Promise<number> {
  installCleanup();
  const wanted = process.argv.slice(2);
  const unknown = wanted.filter((w) => !SECTIONS.some((s) => s.name === w));
  if (unknown.length > 0) {
    process.stderr.write(`unknown section ${unknown.join(', ')}; sections: ${SECTIONS.map((s) => s.name).join(', ')}\n`);
    return 2;
  }
  const outDir = join(repoRoot, 'test-output', 'bench');
  mkdirSync(outDir, { recursive: true });
  const machine = { node: process.version, cpus: cpus().length, cpuModel: cpus()[0]?.model ?? 'unknown' };
  process.stdout.write(`storegw bench — node ${machine.node}, ${machine.cpus} × ${machine.cpuModel}\n`);

  for (const section of SECTIONS.filter((s) => wanted.length === 0 || wanted.includes(s.name))) {
    process.stdout.write(`\n== ${section.name}: ${section.description}\n`);
    const started = Date.now();
    const report = await section.run();
    for (const t of report.tables) process.stdout.write(`\n${formatTable(t)}\n`);
    process.stdout.write(`\n${report.summary.join('\n')}\n`);
    const file = join(outDir, `${section.name}.json`);
    writeFileSync(file, `${JSON.stringify({ section: section.name, at: new Date().toISOString(), machine, ...(report.json as object) }, null, 2)}\n`);
    process.stdout.write(`(${((Date.now() - started) / 1000).toFixed(0)} s; results in ${file})\n`);
  }
  return 0;
}

main()
  .then((code) => (process.exitCode = code))
  .catch((e: Error) => {
    process.stderr.write(`bench failed: ${e.stack ?? e.message}\n`);
    process.exitCode = 1;
  })
  .finally(() => stopAll());
