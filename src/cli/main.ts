#!/usr/bin/env node
// The storegw command: one binary for the gateway, the hub and the tools.
import { configCommand } from './config-cmd.js';
import { demoCommand } from './demo-cmd.js';
import { gatewayCommand } from './gateway-cmd.js';
import { statusCommand } from './status-cmd.js';
import { USAGE, UsageError } from './usage.js';

const out = (s: string) => process.stdout.write(s + '\n');
const err = (s: string) => process.stderr.write(s + '\n');

async function main(argv: string[]): Promise<number> {
  const [command, ...args] = argv;
  switch (command) {
    case 'gateway':
      return gatewayCommand(args, err);
    case 'config':
      return configCommand(args, out, err);
    case 'status':
      return statusCommand(args, out, err);
    case 'demo':
      return demoCommand(args, out);
    case 'help':
    case '--help':
    case '-h':
      out(USAGE);
      return 0;
    default:
      throw new UsageError(command === undefined ? 'a command is required' : `unknown command: ${command}`);
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    const usage = e instanceof UsageError || (e as { code?: string }).code?.startsWith('ERR_PARSE_ARGS');
    err(usage ? `${(e as Error).message}\n\n${USAGE}` : `storegw: ${(e as Error).message}`);
    process.exitCode = usage ? 2 : 1;
  },
);
