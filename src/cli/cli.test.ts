// The storegw command's conventions: --version; --help on every command and subcommand
// (exit 0, the usage on stdout, nothing on stderr); an unknown option a clear error
// (exit 2, what was wrong and the usage on stderr, nothing on stdout). The command line
// runs in-process (./run.ts, as main.ts runs it), and as the built command in a process
// for the exit codes and streams themselves (npm test builds it first). None of these
// start a server or read a file.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { runStoregw, type CliRun } from '../../test/support/gateway-process.js';
import { runCli } from './run.js';
import { COMMAND_USAGE, USAGE, type Command } from './usage.js';

const pkg = JSON.parse(readFileSync(fileURLToPath(new URL('../../package.json', import.meta.url)), 'utf8')) as { version: string };

type Run = CliRun;

/** The command line in this process: what main.ts would write and its exit code. */
async function storegw(...args: string[]): Promise<Run> {
  let out = '';
  let err = '';
  const code = await runCli(args, (s) => (out += s + '\n'), (s) => (err += s + '\n'));
  return { code, out, err };
}

/** The built command, as a process. No hub or admin URL from the environment: nothing here may reach a server. */
const storegwProcess = (...args: string[]) => runStoregw(args, { env: { PATH: process.env.PATH ?? '/usr/bin:/bin' }, timeoutMs: 20_000 });

/** Every command and its subcommands, each with arguments enough to look like a real use. */
const INVOCATIONS: Record<Command, string[][]> = {
  gateway: [[], ['--config', '/etc/storegw/gateway.yaml']],
  hub: [[], ['--config', '/etc/storegw/hub.yaml', '--check']],
  fleet: [[], ['ls', '--region', 'eu-west'], ['show', 'store-0042'], ['send', 'store-0042', 'replay.pause'], ['send', '--tag', 'pilot', 'replay.resume', '--args', '{}']],
  config: [[], ['validate', 'gateway.yaml'], ['validate'], ['schema']],
  status: [[], ['--admin', 'http://127.0.0.1:9', '--json']],
  queue: [[], ['ls', '--state', 'dead'], ['retry', 'r-1'], ['discard', 'r-1'], ['settle', 'r-1', '--as', 'delivered', '--by', 'ana']],
  journal: [[], ['verify', 'journal.db'], ['export', 'journal.db', '--out', 'x.jsonl'], ['export', '--admin', 'http://127.0.0.1:9', '--out', 'x.jsonl'], ['import', 'x.jsonl', '--into', 'journal.db'], ['import', 'x.jsonl', '--into', 'journal.db', '--from-backup', '--config', 'gateway.yaml']],
  demo: [[], ['--stores', '4', '--no-story'], ['--odoo', '17']],
  wg: [[], ['keygen', '--out', '/nonexistent/keys'], ['peer-config', '--store', 'store-0042', '--print']],
};
const commands = Object.keys(INVOCATIONS) as Command[];
const cases = commands.flatMap((command) => INVOCATIONS[command].map((args) => ({ command, args })));

describe('storegw --version', () => {
  it("prints package.json's version, exit 0", async () => {
    for (const flag of ['--version', '-v', 'version']) {
      const r = await storegw(flag);
      expect(r, flag).toEqual({ code: 0, out: `storegw ${pkg.version}\n`, err: '' });
    }
    expect((await storegw('--version', 'extra')).code).toBe(2);
  });
});

describe('storegw --help', () => {
  it('prints the overview, naming every command, exit 0', async () => {
    for (const flag of ['--help', '-h', 'help']) {
      const r = await storegw(flag);
      expect(r, flag).toEqual({ code: 0, out: `${USAGE}\n`, err: '' });
    }
    for (const command of commands) expect(USAGE).toMatch(new RegExp(`^ {2}${command} `, 'm'));
    expect(USAGE).toMatch(/^ {2}--version/m);
  });

  it('on every command and subcommand, anywhere in its arguments: its usage on stdout, exit 0', async () => {
    const runs = cases.flatMap(({ command, args }) => [
      { command, argv: [command, ...args, '--help'] },
      { command, argv: [command, ...args, '-h'] },
      { command, argv: [command, '--help', ...args] },
    ]);
    const results = await Promise.all(runs.map(({ argv }) => storegw(...argv)));
    runs.forEach(({ command, argv }, i) => expect(results[i], argv.join(' ')).toEqual({ code: 0, out: `${COMMAND_USAGE[command]}\n`, err: '' }));
    for (const command of commands) {
      expect(COMMAND_USAGE[command]).toMatch(new RegExp(`^usage: storegw ${command}\\b`));
      expect(await storegw('help', command)).toEqual({ code: 0, out: `${COMMAND_USAGE[command]}\n`, err: '' });
    }
  });

  it("names in each command's usage every option the overview names for it", () => {
    for (const command of commands) {
      const line = new RegExp(`^ {2}${command} (.*)$`, 'm').exec(USAGE)![1]!;
      for (const option of line.match(/--[a-z-]+/g) ?? []) expect(COMMAND_USAGE[command], `${command} ${option}`).toContain(option);
    }
  });

  it('is not a file name for config validate, unless after --', async () => {
    const r = await storegw('config', 'validate', '--help');
    expect(r.code).toBe(0);
    expect(r.out).toContain('storegw config validate FILE');
    const file = await storegw('config', 'validate', '--', '--help');
    expect(file.code).toBe(1);
    expect(file.err).toMatch(/^--help:.*cannot read/);
  });
});

describe('storegw usage errors', () => {
  it('an unknown option on any command or subcommand: named on stderr with the usage, nothing on stdout, exit 2', async () => {
    const results = await Promise.all(cases.map(({ command, args }) => storegw(command, ...args, '--frobnicate')));
    cases.forEach(({ command, args }, i) => {
      const r = results[i]!;
      const what = [command, ...args, '--frobnicate'].join(' ');
      expect(r.code, what).toBe(2);
      expect(r.out, what).toBe('');
      expect(r.err, what).toMatch(new RegExp(`^storegw ${command}: Unknown option '--frobnicate'`));
      expect(r.err, what).toContain(`\n\n${COMMAND_USAGE[command]}\n`);
    });
  });

  it('an unknown command or top-level option, or none: said so with the overview, exit 2', async () => {
    for (const [argv, message] of [
      [['frobnicate'], 'storegw: unknown command: frobnicate'],
      [['--frobnicate'], "storegw: Unknown option '--frobnicate'"],
      [[], 'storegw: a command is required'],
      [['help', 'frobnicate'], 'storegw: no such command: frobnicate'],
    ] as const) {
      const r = await storegw(...argv);
      expect(r, argv.join(' ')).toEqual({ code: 2, out: '', err: `${message}\n\n${USAGE}\n` });
    }
  });

  it('a missing or unknown subcommand, or a missing required option: said so with the command usage, exit 2', async () => {
    for (const [argv, message] of [
      [['gateway'], '--config FILE is required'],
      [['hub'], '--config FILE is required'],
      [['config'], 'a subcommand is required'],
      [['config', 'check', 'x.yaml'], 'unknown config command: check'],
      [['config', 'validate'], 'validate needs a FILE'],
      [['fleet', 'rm', 'x'], 'unknown fleet command: rm'],
      [['queue'], 'a subcommand is required'],
      [['queue', 'settle', 'r-1', '--as', 'maybe', '--by', 'ana'], 'settle needs ID, --as retry|delivered and --by NAME'],
      [['status', 'now'], 'unexpected argument: now'],
      [['journal'], 'a subcommand is required'],
      [['journal', 'verify'], 'verify needs a FILE'],
      [['journal', 'export', 'journal.db'], 'export needs --out EXPORT'],
      [['journal', 'export', 'journal.db', '--admin', 'http://127.0.0.1:9', '--out', 'x.jsonl'], "export needs a stopped gateway's journal FILE, or --admin URL"],
      [['journal', 'import', 'x.jsonl'], 'import needs EXPORT and --into FILE'],
      [['journal', 'import', 'x.jsonl', '--into', 'journal.db', '--from-backup'], '--from-backup needs --config FILE'],
      [['wg', 'rotate'], 'unknown wg command: rotate'],
      [['demo', '--stores', '1'], '--stores must be a whole number from 2 to 50'],
    ] as const) {
      const r = await storegw(...argv);
      const command = argv[0];
      expect(r.code, argv.join(' ')).toBe(2);
      expect(r.out).toBe('');
      expect(r.err, argv.join(' ')).toMatch(new RegExp(`^storegw ${command}: ${message.replace(/[|()[\]]/g, '\\$&')}`));
      expect(r.err.endsWith(`\n\n${COMMAND_USAGE[command]}\n`), argv.join(' ')).toBe(true);
    }
  });
});

describe('storegw, the process', () => {
  it('writes and exits as the in-process runs say: version and help on stdout with 0, usage errors on stderr with 2', async () => {
    const runs = [['--version'], ['--help'], ['config', 'validate', '--help'], ['wg', 'peer-config', '-h'], ['gateway', '--frobnicate'], ['frobnicate']];
    const [processes, inProcess] = await Promise.all([Promise.all(runs.map((argv) => storegwProcess(...argv))), Promise.all(runs.map((argv) => storegw(...argv)))]);
    runs.forEach((argv, i) => expect(processes[i], argv.join(' ')).toEqual(inProcess[i]));
    expect(processes.map((r) => r.code)).toEqual([0, 0, 0, 0, 2, 2]);
  });
});
