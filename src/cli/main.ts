#!/usr/bin/env node
// The storegw command: one binary for the gateway, the hub and the tools.
import { USAGE, UsageError } from './usage.js';

const out = (s: string) => process.stdout.write(s + '\n');
const err = (s: string) => process.stderr.write(s + '\n');

async function main(argv: string[]): Promise<number> {
  const [command, ...args] = argv;
  // Each command loads only what it needs: `config validate` starts no server code.
  switch (command) {
    case 'gateway':
      return (await import('./gateway-cmd.js')).gatewayCommand(args, err);
    case 'hub':
      return (await import('./hub-cmd.js')).hubCommand(args, out, err);
    case 'fleet':
      return (await import('./fleet-cmd.js')).fleetCommand(args, out);
    case 'config':
      return (await import('./config-cmd.js')).configCommand(args, out, err);
    case 'status':
      return (await import('./status-cmd.js')).statusCommand(args, out);
    case 'queue':
      return (await import('./queue-cmd.js')).queueCommand(args, out);
    case 'demo':
      return (await import('./demo-cmd.js')).demoCommand(args, out);
    case 'wg':
      return (await import('./wg-cmd.js')).wgCommand(args, out, err);
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
    // An unreachable or refusing admin API, a missing token file: a failure, said plainly.
    const usage = e instanceof UsageError || (e as { code?: string }).code?.startsWith('ERR_PARSE_ARGS');
    err(usage ? `${(e as Error).message}\n\n${USAGE}` : `storegw: ${(e as Error).message}`);
    process.exitCode = usage ? 2 : 1;
  },
);
