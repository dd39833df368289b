// A network where the only way out is the npm registry: a network namespace
// with no route anywhere but to a CONNECT proxy in this process, which lets
// through the registry's host on 443 and refuses, and records, everything
// else. Commands run in it prove that a build fetches npm packages and
// nothing more (no prebuilt binaries from GitHub, no Node headers from
// nodejs.org). Needs root (ip netns); without it, use the proxy alone.
import { execFileSync, spawnSync } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import { connect, type AddressInfo } from 'node:net';

const PREFIX = 'sgwdf';

function ip(args: string[]): void {
  execFileSync('ip', args, { stdio: 'pipe' });
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export class RegistryOnlyNetwork {
  /** host:port of every CONNECT refused. */
  readonly refused: string[] = [];
  readonly allowed = new Set<string>();
  readonly #server: Server;
  readonly #ns: string | undefined;

  private constructor(server: Server, ns: string | undefined) {
    this.#server = server;
    this.#ns = ns;
  }

  /** isolated: in a namespace of its own (root only); otherwise the proxy is only what tools are told to use. */
  static async open(registry: string, isolated: boolean): Promise<RegistryOnlyNetwork> {
    const host = new URL(registry).hostname;
    const ns = isolated ? `${PREFIX}${process.pid}` : undefined;
    // A link-local /30 per test process: this side .1, the namespace .2.
    const subnet = `169.254.${200 + (process.pid % 50)}`;
    const [hostAddr, nsAddr] = [`${subnet}.1`, `${subnet}.2`];
    if (ns) {
      // Namespaces of earlier runs that died before closing theirs.
      for (const line of execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' }).split('\n')) {
        const m = new RegExp(`^${PREFIX}(\\d+)\\b`).exec(line);
        if (m && !alive(Number(m[1]))) spawnSync('ip', ['netns', 'del', `${PREFIX}${m[1]}`]);
      }
      spawnSync('ip', ['link', 'del', `${ns}h`]);
      ip(['netns', 'add', ns]);
      ip(['link', 'add', `${ns}h`, 'type', 'veth', 'peer', 'name', `${ns}n`, 'netns', ns]);
      ip(['addr', 'add', `${hostAddr}/30`, 'dev', `${ns}h`]);
      ip(['link', 'set', `${ns}h`, 'up']);
      ip(['-n', ns, 'addr', 'add', `${nsAddr}/30`, 'dev', `${ns}n`]);
      ip(['-n', ns, 'link', 'set', `${ns}n`, 'up']);
      ip(['-n', ns, 'link', 'set', 'lo', 'up']);
    }
    const net = new RegistryOnlyNetwork(createServer(), ns);
    const server = net.#server;
    // Plain-HTTP proxying is never needed (the registry is https): refused and recorded.
    server.on('request', (req, res) => {
      net.refused.push(req.url ?? '?');
      res.writeHead(403).end();
    });
    server.on('connect', (req, client, head) => {
      const target = req.url ?? '';
      const [h, p] = target.split(':');
      if (h !== host || p !== '443') {
        net.refused.push(target);
        client.end('HTTP/1.1 403 Forbidden\r\n\r\n');
        return;
      }
      net.allowed.add(target);
      const upstream = connect(443, host, () => {
        client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
        upstream.write(head);
        upstream.pipe(client);
        client.pipe(upstream);
      });
      upstream.on('error', () => client.destroy());
      client.on('error', () => upstream.destroy());
    });
    await new Promise<void>((resolve) => server.listen(0, ns ? hostAddr : '127.0.0.1', resolve));
    return net;
  }

  /** The proxy, for every tool that asks the environment (npm, node-gyp, prebuild-install). */
  get env(): Record<string, string> {
    const { address, port } = this.#server.address() as AddressInfo;
    const url = `http://${address}:${port}`;
    return { HTTPS_PROXY: url, HTTP_PROXY: url, https_proxy: url, http_proxy: url, npm_config_proxy: url, npm_config_https_proxy: url, NO_PROXY: '', no_proxy: '' };
  }

  /** How to run a shell command inside: the binary and its arguments. */
  wrap(cmd: string): [string, string[]] {
    return this.#ns ? ['ip', ['netns', 'exec', this.#ns, 'sh', '-ec', cmd]] : ['sh', ['-ec', cmd]];
  }

  async close(): Promise<void> {
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
    if (this.#ns) {
      spawnSync('ip', ['link', 'del', `${this.#ns}h`]);
      spawnSync('ip', ['netns', 'del', this.#ns]);
    }
  }
}
