// storegw gateway as a bench peer: its config in a folder of its own (the
// journal lives there too), removed when the peer stops. It runs with the node
// flags it is deployed with: V8's young-generation cap changes how often a
// proxy of large answers collects its heap (docs/benchmarks.md).
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GATEWAY_NODE_FLAGS } from '../../support/gateway-process.js';
import { distFile, peerOwningDir, spawnPeer, type Peer } from '../harness.js';

export interface GatewayPeer extends Peer {
  pid: number;
}

/** `main`: the gateway's compiled entry, this build's unless another build is compared against it. */
export async function startGatewayPeer(configYaml: string, timeoutMs = 15_000, main = distFile('src/cli/main.js')): Promise<GatewayPeer> {
  const dir = mkdtempSync(join(tmpdir(), 'storegw-bench-gw-'));
  const config = join(dir, 'gateway.yaml');
  writeFileSync(config, configYaml);
  let pid = 0;
  const peer = await peerOwningDir(
    dir,
    spawnPeer({
      name: 'storegw gateway',
      command: process.execPath,
      args: [...GATEWAY_NODE_FLAGS, main, 'gateway', '--config', config],
      cwd: dir,
      // 'gateway started', the line that gives the address, is an info line;
      // the gateway writes no line per request at info.
      env: { LOG_LEVEL: 'info' },
      timeoutMs,
      readyLine: (line) => {
        if (!line.includes('"gateway started"')) return undefined;
        const v = JSON.parse(line) as { lan: string; pid: number };
        pid = v.pid;
        return v.lan;
      },
    }),
  );
  return { ...peer, pid };
}
