// The ERP simulator in a process of its own, for the benchmarks.
import { startErpSimulator } from '../../../src/sim/erp-simulator.js';
import { exitWithParent } from '../harness.js';

const sim = await startErpSimulator({ host: '127.0.0.1', port: 0 });
exitWithParent(() => sim.close());
process.stdout.write(`${JSON.stringify({ listening: sim.url })}\n`);
