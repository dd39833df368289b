import { parseArgs } from 'node:util';
import { loadGatewayConfig } from '../../edge-config/load.js';
import { ConfigError } from '../../edge-config/errors.js';
import { gatewayJsonSchema } from '../../edge-config/schema.js';
import { backupTargetProblem } from '../../sync/journal-backup.js';
import { UsageError } from './usage.js';

export function configCommand(args: string[], out: (s: string) => void, err: (s: string) => void): number {
  // No options of its own: parseArgs refuses any (`validate --strict`), and `--` ends them
  // (`config validate -- -odd-name.yaml`).
  const [sub, file, ...rest] = parseArgs({ args, allowPositionals: true, options: {} }).positionals;
  if (sub === 'schema' && file === undefined) {
    out(JSON.stringify(gatewayJsonSchema(), null, 2));
    return 0;
  }
  if (sub === 'validate' && file !== undefined && rest.length === 0) {
    try {
      const loaded = loadGatewayConfig(file);
      for (const w of loaded.warnings) err(`${file}: warning: ${w}`);
      // Said, not refused: a USB stick that is out must not keep the store from selling.
      const backup = loaded.config.buffer.backup;
      const problem = backup && backupTargetProblem(backup.path);
      if (problem) err(`${file}: warning: buffer.backup.path: ${problem}; the gateway runs, and reports each backup failing`);
      out(`${file}: valid (store ${loaded.config.store.id}, version ${loaded.version})`);
      return 0;
    } catch (e) {
      if (!(e instanceof ConfigError)) throw e;
      err(e.message);
      return 1;
    }
  }
  throw new UsageError(
    sub === 'validate' ? (file === undefined ? 'validate needs a FILE' : 'validate takes one FILE') : sub === 'schema' ? 'schema takes no arguments' : sub === undefined ? 'a subcommand is required' : `unknown config command: ${sub}`,
  );
}
