// The npm package holds what a user runs, as `npm pack` would make it from this tree
// (package.json "files"): the compiled program, the dashboard, the example configs and
// schema, deploy/, README and LICENSE; no compiled tests, no source maps pointing at
// sources it does not ship, and every relative import of a shipped module shipped too.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { posix } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';

interface PackFile {
  path: string;
  size: number;
}
interface Pack {
  name: string;
  version: string;
  size: number;
  unpackedSize: number;
  entryCount: number;
  files: PackFile[];
}

const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as { bin: Record<string, string>; license: string };

describe('npm package (npm pack --dry-run)', () => {
  let pack: Pack;
  let shipped: Set<string>;

  beforeAll(() => {
    // --ignore-scripts: no prepare (tsc) rewriting dist/ under the tests running beside this one;
    // npm test has just built it.
    const r = spawnSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { encoding: 'utf8', timeout: 60_000 });
    expect(r.status, r.stderr).toBe(0);
    pack = (JSON.parse(r.stdout) as Pack[])[0]!;
    shipped = new Set(pack.files.map((f) => f.path));
    const kB = (n: number) => `${(n / 1024).toFixed(0)} kB`;
    const byTop = new Map<string, number>();
    for (const f of pack.files) {
      const top = f.path.split('/').slice(0, f.path.startsWith('dist/') ? 2 : 1).join('/');
      byTop.set(top, (byTop.get(top) ?? 0) + f.size);
    }
    console.log(
      `npm package ${pack.name}@${pack.version}: ${pack.entryCount} files, ${kB(pack.size)} packed, ${kB(pack.unpackedSize)} unpacked (${[...byTop].map(([k, v]) => `${k} ${kB(v)}`).join(', ')})`,
    );
  }, 90_000);

  it('holds no tests: no test/, no compiled dist/test, no *.test.*', () => {
    const tests = [...shipped].filter((p) => /^(dist\/)?test\//.test(p) || /\.test\.[cm]?[jt]s$/.test(p) || /(^|\/)__tests__\//.test(p));
    expect(tests).toEqual([]);
  });

  it('holds no source map whose sources it does not ship (this build ships none)', () => {
    const maps = [...shipped].filter((p) => p.endsWith('.map'));
    const dangling = maps.flatMap((m) => {
      const map = JSON.parse(readFileSync(m, 'utf8')) as { sources: string[]; sourceRoot?: string; sourcesContent?: unknown[] };
      return map.sources.filter((s, i) => map.sourcesContent?.[i] == null && !shipped.has(posix.normalize(posix.join(posix.dirname(m), map.sourceRoot ?? '', s)))).map((s) => `${m} -> ${s}`);
    });
    expect(dangling).toEqual([]);
    expect(maps).toEqual([]);
  });

  it('holds what a user runs: the command, every module a shipped module imports, the dashboard, examples, schema, deploy/, README, LICENSE', () => {
    for (const f of ['package.json', 'README.md', 'LICENSE', ...Object.values(pkg.bin), 'src/fleet/dashboard/public/index.html', 'edge-config/storegw.schema.json', 'edge-config/examples/fiber-lte.yaml', 'deploy/systemd/storegw-gateway.service']) {
      expect(shipped.has(f), f).toBe(true);
    }
    expect(pkg.license).toBe('Apache-2.0');
    expect(readFileSync('LICENSE', 'utf8')).toMatch(/^\s*Apache License\s+Version 2\.0, January 2004/);
    // Relative imports (static and dynamic) of every shipped module: a module left out by "files" would only fail at run time.
    const missing: string[] = [];
    for (const js of [...shipped].filter((p) => p.startsWith('dist/') && p.endsWith('.js'))) {
      const text = readFileSync(js, 'utf8');
      for (const m of text.matchAll(/(?:\bfrom\s*|\bimport\s*\(\s*|\bimport\s+)['"](\.{1,2}\/[^'"]+)['"]/g)) {
        const target = posix.normalize(posix.join(posix.dirname(js), m[1]!));
        if (!shipped.has(target)) missing.push(`${js} imports ${m[1]}`);
      }
    }
    expect(missing).toEqual([]);
  });

  it('stays small: the compiled program and its files, well under a megabyte and a half unpacked', () => {
    expect(pack.unpackedSize).toBeLessThan(1.5 * 1024 * 1024);
  });
});
