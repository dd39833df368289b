// Starts a real gateway on loopback from a YAML text, with its logs captured.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { loadGatewayConfig } from '../../edge-config/load.js';
import { startGateway, type RunningGateway } from '../../src/app/gateway.js';
import { createLogger } from '../../src/log.js';

export interface TestGateway {
  gw: RunningGateway;
  dir: string;
  configFile: string;
  logs(): string;
  close(): Promise<void>;
}

export function tempDir(prefix = 'storegw-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** Writes `files` (name -> content, mode 600) and `gateway.yaml` into a fresh folder and starts a gateway. */
export async function startTestGateway(yaml: string, files: Record<string, string> = {}): Promise<TestGateway> {
  const dir = tempDir();
  for (const [name, content] of Object.entries(files)) writeFileSync(join(dir, name), content, { mode: 0o600 });
  const configFile = join(dir, 'gateway.yaml');
  writeFileSync(configFile, yaml);
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(chunk.toString());
      done();
    },
  });
  const gw = await startGateway(loadGatewayConfig(configFile), createLogger({ level: 'debug', destination }));
  return {
    gw,
    dir,
    configFile,
    logs: () => lines.join(''),
    async close() {
      await gw.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * A minimal gateway config: one path to `upstream`, routes given as YAML list
 * items; `gateway` adds lines under gateway:, `extra` adds top-level sections,
 * `buffer` replaces the buffer section's value.
 */
export function gatewayYaml(upstream: string, routes: string, more: { gateway?: string; extra?: string; buffer?: string } = {}): string {
  return `version: 1
store: { id: store-test, region: test }
gateway:
  listen: { host: 127.0.0.1, port: 0 }
  admin: { host: 127.0.0.1, port: 0 }
${more.gateway ?? ''}
paths:
  - name: fiber
    baseUrl: ${upstream}
routes:
${routes}
buffer: ${more.buffer ?? '{ path: ./journal.db }'}
cache: { path: ./cache.db }
${more.extra ?? ''}`;
}
