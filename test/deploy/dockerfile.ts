// A Dockerfile checker and build-stage runner, for a machine without a Docker
// engine: parse (instructions, stages, ARG defaults, .dockerignore), lint
// (what the image promises: pinned bases, a non-root user, a health check,
// exec-form entrypoint, no dev dependencies or toolchain in the final stage),
// and run the build the way docker would, minus the base image: each stage
// gets its own folder standing for its root file system, COPY copies (the
// context through .dockerignore), RUN runs in the stage's WORKDIR with its
// ENV. System setup (apt-get, useradd) cannot run on the host and is only
// listed; the rest runs for real, and must therefore name no absolute path.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, posix, relative } from 'node:path';

export interface Instruction {
  keyword: string;
  args: string;
  line: number;
}

export interface Stage {
  index: number;
  name: string | undefined;
  /** The base, ARGs substituted: an image reference or an earlier stage's name. */
  from: string;
  instructions: Instruction[];
}

export interface Dockerfile {
  stages: Stage[];
}

// ------------------------------------------------------------------ parsing

/** Instructions with continuation lines joined and comments dropped (as BuildKit does, inside continuations too). */
function instructions(text: string): Instruction[] {
  const out: Instruction[] = [];
  let current: { parts: string[]; line: number } | undefined;
  text.split('\n').forEach((raw, i) => {
    const line = raw.trimEnd();
    if (/^\s*#/.test(line) || (current === undefined && line.trim() === '')) return;
    const continued = line.endsWith('\\');
    const body = continued ? line.slice(0, -1) : line;
    if (current) current.parts.push(body.trim());
    else current = { parts: [body.trim()], line: i + 1 };
    if (continued) return;
    const joined = current.parts.filter(Boolean).join(' ');
    const m = /^([A-Za-z]+)\s*(.*)$/.exec(joined);
    if (!m) throw new Error(`Dockerfile line ${current.line}: not an instruction: ${joined}`);
    out.push({ keyword: m[1]!.toUpperCase(), args: m[2]!, line: current.line });
    current = undefined;
  });
  if (current) throw new Error(`Dockerfile line ${current.line}: continuation runs past the end`);
  return out;
}

export function parseDockerfile(text: string): Dockerfile {
  const args: Record<string, string> = {};
  const stages: Stage[] = [];
  for (const ins of instructions(text)) {
    if (ins.keyword === 'ARG' && stages.length === 0) {
      const [k, v = ''] = ins.args.split('=', 2);
      args[k!.trim()] = v.trim();
      continue;
    }
    if (ins.keyword === 'FROM') {
      const m = /^(?:--platform=\S+\s+)?(\S+)(?:\s+AS\s+(\S+))?$/i.exec(ins.args);
      if (!m) throw new Error(`Dockerfile line ${ins.line}: FROM ${ins.args}`);
      const from = m[1]!.replace(/\$\{?(\w+)\}?/g, (_, k: string) => args[k] ?? '');
      stages.push({ index: stages.length, name: m[2], from, instructions: [] });
      continue;
    }
    const stage = stages.at(-1);
    if (!stage) throw new Error(`Dockerfile line ${ins.line}: ${ins.keyword} before the first FROM`);
    stage.instructions.push(ins);
  }
  return { stages };
}

/** Flags (--name=value) at the start of an instruction's arguments, and the rest. */
export function flags(args: string): { flags: Record<string, string>; rest: string } {
  const out: Record<string, string> = {};
  let rest = args;
  for (let m; (m = /^--([a-z-]+)(?:=(\S+))?\s+/.exec(rest)); rest = rest.slice(m[0].length)) out[m[1]!] = m[2] ?? 'true';
  return { flags: out, rest };
}

/** A JSON array (exec form), or undefined (shell form). */
export function execForm(args: string): string[] | undefined {
  if (!args.trimStart().startsWith('[')) return undefined;
  const v = JSON.parse(args) as unknown;
  return Array.isArray(v) && v.every((s) => typeof s === 'string') ? v : undefined;
}

const find = (s: Stage, keyword: string) => s.instructions.filter((i) => i.keyword === keyword);

function parseEnv(ins: Instruction): Record<string, string> {
  const env: Record<string, string> = {};
  for (const pair of ins.args.trim().split(/\s+/)) {
    const [k, v] = pair.split(/=(.*)/s);
    if (v === undefined) throw new Error(`line ${ins.line}: ENV ${pair}: only key=value (unquoted) is understood here`);
    env[k!] = v;
  }
  return env;
}

/** The environment a stage's ENV instructions leave behind. */
export function stageEnv(s: Stage): Record<string, string> {
  return Object.assign({}, ...find(s, 'ENV').map(parseEnv)) as Record<string, string>;
}

/** The last instruction of a kind in a stage (the one in effect). */
export const lastOf = (s: Stage, keyword: string): Instruction | undefined => find(s, keyword).at(-1);

// ------------------------------------------------------------------ .dockerignore

/** moby's pattern matching: `*` and `?` within a segment, `**` across them; a pattern also matches what is below a match. */
export function dockerignore(text: string): (path: string) => boolean {
  const rules = text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'))
    .map((l) => {
      const negate = l.startsWith('!');
      const pattern = posix.normalize((negate ? l.slice(1) : l).replace(/^\/+/, ''));
      const re = pattern
        .split(/(\*\*\/|\*\*|\*|\?)/)
        .map((t) => ({ '**/': '(?:.*/)?', '**': '.*', '*': '[^/]*', '?': '[^/]' })[t] ?? t.replace(/[.+^${}()|[\]\\]/g, '\\$&'))
        .join('');
      return { negate, re: new RegExp(`^${re}(?:/.*)?$`) };
    });
  return (path: string) => {
    let excluded = false;
    for (const r of rules) if (r.re.test(path)) excluded = !r.negate;
    return excluded;
  };
}

// ------------------------------------------------------------------ lint

const TOOLCHAIN = ['g++', 'gcc', 'make', 'python3', 'build-essential', 'clang'];

export interface LintContext {
  /** The build context (the repository). */
  context: string;
  ignored: (path: string) => boolean;
  /** package.json engines.node, e.g. ">=22.12.0". */
  enginesNode: string;
  /** Production packages the lockfile says have install scripts (node_modules/<name>). */
  nativePackages: string[];
}

const versionOf = (s: string) => s.split('.').map(Number);
function atLeast(v: string, min: string): boolean {
  const [a, b] = [versionOf(v), versionOf(min)];
  for (let i = 0; i < 3; i++) if ((a[i] ?? 0) !== (b[i] ?? 0)) return (a[i] ?? 0) > (b[i] ?? 0);
  return true;
}

/** Everything wrong with the Dockerfile, one line each; [] when it keeps its promises. */
export function lint(df: Dockerfile, ctx: LintContext): string[] {
  const problems: string[] = [];
  const names = new Set<string>();
  const final = df.stages.at(-1);
  if (!final) return ['no FROM'];
  for (const s of df.stages) {
    const where = `stage ${s.name ?? s.index}`;
    if (!names.has(s.from)) {
      const digest = /@sha256:[0-9a-f]{64}$/.test(s.from);
      // The tag follows the last ':' of the name, once a registry's own port is set aside.
      const tag = /:([\w.-]+)$/.exec(s.from.replace(/@sha256:[0-9a-f]{64}$/, '').replace(/^[^/]+:\d+\//, ''))?.[1];
      if (!digest && tag === undefined) problems.push(`${where}: FROM ${s.from} has no tag or digest`);
      else if (!digest && !/^v?\d+\.\d+\.\d+/.test(tag!)) problems.push(`${where}: FROM ${s.from} is not pinned (want a full version like node:24.22.3-bookworm-slim, or a digest)`);
      const node = /^(?:.*\/)?node:(\d+\.\d+\.\d+)/.exec(s.from);
      const min = /^>=\s*(\d+\.\d+\.\d+)$/.exec(ctx.enginesNode);
      if (node && min && !atLeast(node[1]!, min[1]!)) problems.push(`${where}: node ${node[1]} is below package.json engines ${ctx.enginesNode}`);
    }
    for (const c of find(s, 'COPY')) {
      const { flags: f, rest } = flags(c.args);
      const parts = rest.split(/\s+/);
      if (f.from !== undefined) {
        if (!names.has(f.from)) problems.push(`line ${c.line}: COPY --from=${f.from} is not an earlier stage`);
        continue;
      }
      for (const src of parts.slice(0, -1)) {
        if (!existsSync(join(ctx.context, src))) problems.push(`line ${c.line}: COPY ${src}: not in the build context`);
        else if (ctx.ignored(posix.normalize(src))) problems.push(`line ${c.line}: COPY ${src}: excluded by .dockerignore`);
      }
    }
    for (const r of find(s, 'RUN')) {
      for (const m of r.args.matchAll(/apt-get install ([^&;|]*)/g)) {
        if (!/--no-install-recommends/.test(m[1]!)) problems.push(`line ${r.line}: apt-get install without --no-install-recommends`);
        if (!/rm -rf \/var\/lib\/apt\/lists/.test(r.args)) problems.push(`line ${r.line}: apt lists left in the layer`);
        if (s === final) for (const t of TOOLCHAIN) if (m[1]!.split(/\s+/).includes(t)) problems.push(`line ${r.line}: build tool ${t} in the final image`);
      }
      if (s === final && /\bnpm (ci|install|i)\b/.test(r.args)) problems.push(`line ${r.line}: npm installs in the final stage (copy node_modules from a production-only stage)`);
    }
    if (s.name) names.add(s.name);
  }

  // node_modules of the image: from a stage that installed production dependencies only, native ones rebuilt.
  const modules = find(final, 'COPY').map((c) => flags(c.args)).find((c) => c.flags.from !== undefined && /node_modules\s/.test(c.rest + ' '));
  const depsStage = df.stages.find((s) => s.name === modules?.flags.from);
  if (!depsStage) problems.push('final stage: node_modules is not copied from a dependencies stage');
  else {
    const runs = find(depsStage, 'RUN').map((r) => r.args).join(' && ');
    if (!/npm ci\b[^&]*--omit=dev/.test(runs)) problems.push(`stage ${depsStage.name}: npm ci without --omit=dev`);
    if (/npm ci\b[^&]*--ignore-scripts/.test(runs)) {
      for (const p of ctx.nativePackages) {
        const name = p.replace(/^node_modules\//, '');
        if (!new RegExp(`npm rebuild\\b[^&]*\\s${name.replace(/[/.]/g, '\\$&')}(\\s|$)`).test(runs)) problems.push(`stage ${depsStage.name}: ${name} has an install script, skipped by --ignore-scripts and never rebuilt`);
      }
    }
  }

  const last = (k: string) => lastOf(final, k);
  const user = last('USER')?.args.trim();
  if (!user) problems.push('final stage: no USER (runs as root)');
  else if (!/^\d+(:\d+)?$/.test(user)) problems.push(`final stage: USER ${user} is not numeric (runAsNonRoot cannot check a name)`);
  else if (/^0(:|$)/.test(user)) problems.push('final stage: USER is root');
  const health = last('HEALTHCHECK');
  if (!health) problems.push('final stage: no HEALTHCHECK');
  else {
    const cmd = /^CMD\s+(.*)$/.exec(flags(health.args).rest);
    if (!cmd || !execForm(cmd[1]!)) problems.push('final stage: HEALTHCHECK CMD is not exec form (the slim image has no curl; a shell form would hide why it failed)');
  }
  for (const k of ['ENTRYPOINT', 'CMD']) {
    const i = last(k);
    if (!i) problems.push(`final stage: no ${k}`);
    else if (!execForm(i.args)) problems.push(`final stage: ${k} is not exec form (a shell in between would eat SIGTERM)`);
  }
  return problems;
}

// ------------------------------------------------------------------ running the build

export interface RunOptions {
  context: string;
  ignored: (path: string) => boolean;
  /** Image paths that stand for something else on this host: ENV values rewritten before RUN. */
  envOverrides: Record<string, string>;
  /** Where RUN commands run: how to start a shell command there, and the environment it needs (a proxy). */
  network: { wrap(cmd: string): [string, string[]]; env: Record<string, string> };
  /** Stage results are kept here by a hash of everything that went into them, as docker's layer cache does. */
  cacheDir: string;
  log: (line: string) => void;
}

export interface BuildResult {
  /** The final stage's file system. */
  root: string;
  /** RUN commands of the stages used that cannot run on this host (system setup of the base image). */
  skipped: string[];
  stages: { name: string; cached: boolean; ms: number }[];
}

const SYSTEM = /^(apt-get|groupadd|useradd)\b/;

function filesUnder(context: string, rel: string, ignored: (p: string) => boolean): string[] {
  const full = join(context, rel);
  if (!statSync(full).isDirectory()) return ignored(rel) ? [] : [rel];
  return readdirSync(full)
    .sort()
    .flatMap((n) => {
      const child = posix.join(rel, n);
      return ignored(child) ? [] : filesUnder(context, child, ignored);
    });
}

function sh(cmd: string, cwd: string, env: NodeJS.ProcessEnv, network: RunOptions['network']): Promise<void> {
  const [bin, args] = network.wrap(cmd);
  return new Promise((resolve, reject) => {
    const child = spawn(bin, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (c: Buffer) => (output += c));
    child.stderr.on('data', (c: Buffer) => (output += c));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`RUN ${cmd}: exit ${code}\n${output.slice(-4000)}`))));
  });
}

/** The stage's file system path for an image path (relative ones from the WORKDIR). */
const inStage = (root: string, workdir: string, p: string) => join(root, posix.isAbsolute(p) ? p : posix.join(workdir, p));

class Builder {
  readonly #built = new Map<string, Promise<{ root: string; key: string }>>();
  readonly stages: BuildResult['stages'] = [];

  constructor(
    readonly df: Dockerfile,
    readonly o: RunOptions,
  ) {}

  stage(name: string): Promise<{ root: string; key: string }> {
    let p = this.#built.get(name);
    if (!p) {
      const s = this.df.stages.find((x) => x.name === name);
      if (!s) throw new Error(`no stage ${name}`);
      p = this.#cached(s);
      this.#built.set(name, p);
    }
    return p;
  }

  /** What a stage's result depends on: its instructions, the context files it copies, the stages it copies from, this host's Node. */
  async #key(s: Stage): Promise<string> {
    const h = createHash('sha256').update(JSON.stringify([process.version, process.arch, s.from, s.instructions.map((i) => [i.keyword, i.args])]));
    for (const c of find(s, 'COPY')) {
      const { flags: f, rest } = flags(c.args);
      if (f.from) h.update((await this.stage(f.from)).key);
      else for (const src of rest.split(/\s+/).slice(0, -1)) for (const file of filesUnder(this.o.context, posix.normalize(src), this.o.ignored)) h.update(file).update(readFileSync(join(this.o.context, file)));
    }
    return h.digest('hex').slice(0, 16);
  }

  async #cached(s: Stage): Promise<{ root: string; key: string }> {
    const key = await this.#key(s);
    const root = join(this.o.cacheDir, `${s.name}-${key}`);
    const t0 = Date.now();
    if (!existsSync(join(root, '.complete'))) {
      const tmp = `${root}.tmp-${process.pid}`;
      rmSync(tmp, { recursive: true, force: true });
      try {
        await this.run(s, tmp);
      } catch (e) {
        rmSync(tmp, { recursive: true, force: true });
        throw e;
      }
      writeFileSync(join(tmp, '.complete'), '');
      // Older results of this stage are dead weight once a new one exists.
      for (const old of readdirSync(this.o.cacheDir).filter((n) => n.startsWith(`${s.name}-`) && !n.includes('.tmp-'))) rmSync(join(this.o.cacheDir, old), { recursive: true, force: true });
      renameSync(tmp, root);
      this.stages.push({ name: s.name!, cached: false, ms: Date.now() - t0 });
    } else this.stages.push({ name: s.name!, cached: true, ms: 0 });
    return { root, key };
  }

  /** Runs a stage's instructions into `root`. */
  async run(s: Stage, root: string): Promise<void> {
    mkdirSync(root, { recursive: true });
    let workdir = '/';
    const env: Record<string, string> = {};
    for (const ins of s.instructions) {
      switch (ins.keyword) {
        case 'WORKDIR':
          workdir = posix.resolve(workdir, ins.args.trim());
          mkdirSync(inStage(root, '/', workdir), { recursive: true });
          break;
        case 'ENV':
          Object.assign(env, parseEnv(ins));
          break;
        case 'COPY':
          await this.#copy(ins, root, workdir);
          break;
        case 'RUN': {
          const cmd = ins.args.trim();
          if (SYSTEM.test(cmd)) break;
          const absolute = cmd.split(/\s+/).find((t) => t.startsWith('/'));
          if (absolute) throw new Error(`line ${ins.line}: RUN names ${absolute}; only commands within the WORKDIR can run on this host`);
          const over = Object.fromEntries(Object.entries(env).map(([k, v]) => [k, this.o.envOverrides[k] ?? v]));
          this.o.log(`[${s.name ?? 'final'}] RUN ${cmd}`);
          // A clean environment, as in a build container: where the tools are, npm's cache and settings
          // (the cache first: a package fetched once is not fetched again), the way out.
          const base = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/root', npm_config_update_notifier: 'false', npm_config_prefer_offline: 'true' };
          await sh(cmd, inStage(root, '/', workdir), { ...base, ...this.o.network.env, ...over }, this.o.network);
          break;
        }
        default:
          // ARG, USER, VOLUME, EXPOSE, HEALTHCHECK, ENTRYPOINT, CMD, LABEL: metadata, checked by lint.
          break;
      }
    }
  }

  async #copy(ins: Instruction, root: string, workdir: string): Promise<void> {
    const { flags: f, rest } = flags(ins.args);
    const parts = rest.split(/\s+/);
    const dest = parts.pop()!;
    const intoDir = dest.endsWith('/') || parts.length > 1;
    const from = f.from ? (await this.stage(f.from)).root : undefined;
    for (const src of parts) {
      const target = inStage(root, workdir, dest);
      if (from) {
        const source = join(from, src);
        const to = statSync(source).isDirectory() || !intoDir ? target : join(target, posix.basename(src));
        cpSync(source, to, { recursive: true, verbatimSymlinks: true });
        continue;
      }
      const rel = posix.normalize(src);
      const isDir = statSync(join(this.o.context, rel)).isDirectory();
      for (const file of filesUnder(this.o.context, rel, this.o.ignored)) {
        const to = isDir ? join(target, relative(rel, file)) : intoDir ? join(target, posix.basename(file)) : target;
        mkdirSync(dirname(to), { recursive: true });
        cpSync(join(this.o.context, file), to);
      }
    }
  }
}

/** Builds the final stage into `into`, every stage it copies from first (independent ones at once, from cache when unchanged). */
export async function build(df: Dockerfile, into: string, o: RunOptions): Promise<BuildResult> {
  mkdirSync(o.cacheDir, { recursive: true });
  // Half-built stages of runs that died.
  for (const n of readdirSync(o.cacheDir)) {
    const pid = Number(/\.tmp-(\d+)$/.exec(n)?.[1]);
    if (pid && !alive(pid)) rmSync(join(o.cacheDir, n), { recursive: true, force: true });
  }
  const b = new Builder(df, o);
  const final = df.stages.at(-1)!;
  await Promise.all(find(final, 'COPY').map((c) => flags(c.args).flags.from).filter((n): n is string => n !== undefined).map((n) => b.stage(n)));
  await b.run(final, into);
  const used = [...df.stages.filter((s) => b.stages.some((r) => r.name === s.name)), final];
  const skipped = used.flatMap((s) => find(s, 'RUN').map((r) => r.args.trim()).filter((c) => SYSTEM.test(c)));
  return { root: into, skipped, stages: b.stages };
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export const defaultCacheDir = () => join(tmpdir(), 'storegw-dockerfile-stages');
