#!/usr/bin/env node
// The storegw command: one binary for the gateway, the hub and the tools (./run.ts).
import { runCli } from './run.js';

runCli(
  process.argv.slice(2),
  (s) => process.stdout.write(s + '\n'),
  (s) => process.stderr.write(s + '\n'),
).then((code) => {
  process.exitCode = code;
});
