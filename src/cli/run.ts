// The storegw command line, without the process: what main.ts runs, and what the CLI's tests
// call in-process. Returns the exit code; usage errors are 2, failures 1.
import { packageVersion } from '../fleet/agent/version.js';
import { COMMAND_USAGE, USAGE, UsageError, isCommand, wantsHelp } from './usage.js';

type Print = (s: string) => void;

async function main(argv: string[], out: Print, err: Print): Promise<number> {
  const [command, ...args] = argv;
  // `--help`/`-h` anywhere in a command's arguments, subcommands included: its usage, exit 0.
  if (isCommand(command) && wantsHelp(args)) {
    out(COMMAND_USAGE[command]);
    return 0;
  }
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
    case 'journal':
      return (await import('./journal-cmd.js')).journalCommand(args, out);
    case 'demo':
      return (await import('./demo-cmd.js')).demoCommand(args, out);
    case 'wg':
      return (await import('./wg-cmd.js')).wgCommand(args, out, err);
    case 'help':
    case '--help':
    case '-h':
      if (args.length > 0 && !isCommand(args[0])) throw new UsageError(`no such command: ${args[0]}`);
      out(isCommand(args[0]) ? COMMAND_USAGE[args[0]] : USAGE);
      return 0;
    case '--version':
    case '-v':
    case '-V':
    case 'version':
      if (args.length > 0) throw new UsageError(`${command} takes no arguments`);
      out(`storegw ${packageVersion()}`);
      return 0;
    case undefined:
      throw new UsageError('a command is required');
    default:
      throw new UsageError(command.startsWith('-') ? `Unknown option '${command}'` : `unknown command: ${command}`);
  }
}

export async function runCli(argv: string[], out: Print, err: Print): Promise<number> {
  try {
    return await main(argv, out, err);
  } catch (e) {
    // A usage error (ours, or parseArgs' unknown option, missing value, stray argument): what
    // was wrong and the command's usage, exit 2. Anything else (an unreachable or refusing
    // admin API, a missing token file): a failure, said plainly, exit 1.
    const usage = e instanceof UsageError || (e as { code?: string }).code?.startsWith('ERR_PARSE_ARGS');
    if (!usage) {
      err(`storegw: ${(e as Error).message}`);
      return 1;
    }
    const [command] = argv;
    const known = isCommand(command);
    err(`storegw${known ? ` ${command}` : ''}: ${(e as Error).message}\n\n${known ? COMMAND_USAGE[command] : USAGE}`);
    return 2;
  }
}
