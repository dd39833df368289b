// One max-load reading in a process of its own (load.ts, maxLoadInProcess).
// Its one argument is the JSON of a LoadJob; it prints the LoadResult's JSON on one line.
import { maxLoad, type LoadJob } from './load.js';
import { treeCpuSeconds } from './proc.js';

const job = JSON.parse(process.argv[2] ?? '') as LoadJob;
const result = await maxLoad(job.url, job.spec, job.options, () => treeCpuSeconds(job.pid));
process.stdout.write(`${JSON.stringify(result)}\n`);
