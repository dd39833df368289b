import { parseArgs } from 'node:util';
import { ConfigError } from '../../edge-config/errors.js';
import { loadGatewayConfig } from '../../edge-config/load.js';
import { startGateway } from '../app/gateway.js';
import { createLogger } from '../log.js';
import { youngGenerationWarning } from './node-flags.js';
import { UsageError } from './usage.js';

export async function gatewayCommand(args: string[], err: (s: string) => void): Promise<number> {
  const { values } = parseArgs({ args, options: { config: { type: 'string', short: 'c' } } });
  if (!values.config) throw new UsageError('--config FILE is required');
  const logger = createLogger({ name: 'storegw' });
  const flagWarning = youngGenerationWarning(process.execArgv, process.env.NODE_OPTIONS);
  if (flagWarning) logger.warn(flagWarning);
  let loaded;
  try {
    loaded = loadGatewayConfig(values.config);
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    err(e.message);
    return 1;
  }
  const gw = await startGateway(loaded, logger);
  logger.info({ store: loaded.config.store.id, lan: gw.url, admin: gw.adminUrl, version: loaded.version }, 'gateway started');

  process.on('SIGHUP', () => gw.reload());
  await new Promise<void>((resolve) => {
    const stop = (signal: string) => {
      logger.info({ signal }, 'shutting down: finishing in-flight requests');
      resolve();
    };
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
  });
  await gw.close();
  logger.info('gateway stopped');
  return 0;
}
