// `storegw demo` (what `npm start` runs): the bundled ERP simulator and one
// store gateway in front of it, on loopback, with data in a temporary folder.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadGatewayConfig } from '../../edge-config/load.js';
import { startGateway, type RunningGateway } from '../gateway/gateway.js';
import { createLogger } from '../log.js';
import { startErpSimulator } from '../sim/erp-simulator.js';

const DEMO_CONFIG = fileURLToPath(new URL('../../../edge-config/examples/demo.yaml', import.meta.url));

function isAddrInUse(e: unknown): boolean {
  return (e as NodeJS.ErrnoException).code === 'EADDRINUSE';
}

export async function demoCommand(_args: string[], out: (s: string) => void): Promise<number> {
  const logger = createLogger({ name: 'storegw-demo', level: process.env.LOG_LEVEL ?? 'warn' });
  const dataDir = mkdtempSync(join(tmpdir(), 'storegw-demo-'));
  const erp = await startErpSimulator({ host: '127.0.0.1', port: 0 });

  const env = { ...process.env, ERP_URL: erp.url, DATA_DIR: dataDir, GATEWAY_PORT: '8080', ADMIN_PORT: '9080' };
  let gw: RunningGateway;
  try {
    gw = await startGateway(loadGatewayConfig(DEMO_CONFIG, env), logger);
  } catch (e) {
    if (!isAddrInUse(e)) throw e;
    // The usual ports are taken on this machine: take any free ones.
    gw = await startGateway(loadGatewayConfig(DEMO_CONFIG, { ...env, GATEWAY_PORT: '0', ADMIN_PORT: '0' }), logger);
  }

  out(`storegw demo — a store gateway in front of a simulated Odoo ERP

  ERP simulator       ${erp.url}
  store LAN endpoint  ${gw.url}        (point POS terminals and scanners here)
  admin API           ${gw.adminUrl}/v1/status   ${gw.adminUrl}/metrics

Try a catalog read through the gateway:
  curl -s ${gw.url}/web/dataset/call_kw/product.product/search_read \\
    -H 'content-type: application/json' \\
    -d '{"jsonrpc":"2.0","method":"call","params":{"model":"product.product","method":"search_read","args":[],"kwargs":{"limit":3}}}'

Send a POS order (journaled, then delivered; send it twice: one order at the ERP):
  curl -si ${gw.url}/web/dataset/call_kw/pos.order/sync_from_ui \\
    -H 'content-type: application/json' \\
    -d '{"jsonrpc":"2.0","method":"call","params":{"model":"pos.order","method":"sync_from_ui","args":[[{"uuid":"demo-order-1","amount_total":9.9}]],"kwargs":{}}}'
See what the ERP committed:           curl -s ${erp.url}/_sim/commits
Take the ERP down (orders get 202):   curl -s ${erp.url}/_sim/control -d '{"mode":"fail","status":503}'
...and back up (the backlog drains):  curl -s ${erp.url}/_sim/control -d '{"mode":"ok"}'
A path traversal is refused:          curl -si ${gw.url}/../etc/passwd --path-as-is
Queue:                                node dist/src/cli/main.js queue ls --admin ${gw.adminUrl}
Gateway status:                       node dist/src/cli/main.js status --admin ${gw.adminUrl}

Ctrl-C stops everything. Demo data: ${dataDir} (removed on exit)`);

  await new Promise<void>((resolve) => {
    process.once('SIGINT', () => resolve());
    process.once('SIGTERM', () => resolve());
  });
  await gw.close();
  await erp.close();
  rmSync(dataDir, { recursive: true, force: true });
  out('demo stopped');
  return 0;
}
