// storegw hub --config FILE [--check]: the central fleet hub (--check: config and
// token files only, nothing started).
import { parseArgs } from 'node:util';
import { ConfigError } from '../../edge-config/errors.js';
import { loadHubConfig } from '../../edge-config/hub-load.js';
import { loadHubAuth } from '../fleet/hub/auth.js';
import { startHub } from '../fleet/hub/server.js';
import { createLogger } from '../log.js';
import { UsageError } from './usage.js';

export async function hubCommand(args: string[], out: (s: string) => void, err: (s: string) => void): Promise<number> {
  const { values } = parseArgs({ args, options: { config: { type: 'string', short: 'c' }, check: { type: 'boolean', default: false } } });
  if (!values.config) throw new UsageError('--config FILE is required');
  let loaded;
  try {
    loaded = loadHubConfig(values.config);
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    err(e.message);
    return 1;
  }
  if (values.check) {
    try {
      for (const w of loadHubAuth(loaded.config.auth.gatewayTokensFile, loaded.config.auth.opsTokens).warnings) err(`warning: ${w}`);
    } catch (e) {
      err((e as Error).message);
      return 1;
    }
    out(`${values.config}: valid (token files readable)`);
    return 0;
  }
  const logger = createLogger({ name: 'storegw-hub' });
  const hub = await startHub(loaded, logger);
  logger.info({ url: hub.url, connect: `${hub.url.replace(/^http/, 'ws')}/v1/gateways/connect` }, 'hub started');

  process.on('SIGHUP', () => hub.reloadTokens());
  await new Promise<void>((resolve) => {
    const stop = (signal: string) => {
      logger.info({ signal }, 'shutting down');
      resolve();
    };
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
  });
  await hub.close();
  logger.info('hub stopped');
  return 0;
}
