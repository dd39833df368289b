import { loadGatewayConfig } from '../../edge-config/load.js';
import { ConfigError } from '../../edge-config/errors.js';
import { gatewayJsonSchema } from '../../edge-config/schema.js';
import { UsageError } from './usage.js';

export function configCommand(args: string[], out: (s: string) => void, err: (s: string) => void): number {
  const [sub, file, ...rest] = args;
  if (sub === 'schema' && file === undefined) {
    out(JSON.stringify(gatewayJsonSchema(), null, 2));
    return 0;
  }
  if (sub === 'validate' && file !== undefined && rest.length === 0) {
    try {
      const loaded = loadGatewayConfig(file);
      for (const w of loaded.warnings) err(`${file}: warning: ${w}`);
      out(`${file}: valid (store ${loaded.config.store.id}, version ${loaded.version})`);
      return 0;
    } catch (e) {
      if (!(e instanceof ConfigError)) throw e;
      err(e.message);
      return 1;
    }
  }
  throw new UsageError('usage: storegw config validate FILE | storegw config schema');
}
