// deploy/k8s: every manifest parses, the objects point at each other
// (selectors, ports, volumes, the config, token and password files hub.yaml
// names, the PostgreSQL Service it connects to), the probes hit what the hub
// serves, rolling updates never take the only hub down, and `kubectl kustomize` renders the folder
// where kubectl is installed. No cluster runs here: the API server's own
// schema checks are not made.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse, parseAllDocuments } from 'yaml';
import { describe, expect, it } from 'vitest';
import { loadHubConfig } from '../../edge-config/hub-load.js';

const DIR = 'deploy/k8s';

interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  spec?: any; // manifests are checked field by field below
  data?: unknown;
}

const kustomization = parse(readFileSync(join(DIR, 'kustomization.yaml'), 'utf8')) as {
  namespace: string;
  resources: string[];
  configMapGenerator: { name: string; files: string[] }[];
  images: { name: string; newName: string; newTag: string }[];
};

function documents(text: string, file: string): K8sObject[] {
  return parseAllDocuments(text).map((d, i) => {
    expect(d.errors, `${file} document ${i + 1}`).toEqual([]);
    return d.toJS() as K8sObject;
  });
}

const objects = kustomization.resources.flatMap((f) => documents(readFileSync(join(DIR, f), 'utf8'), f));
const one = (kind: string) => {
  const found = objects.filter((o) => o.kind === kind);
  expect(found, kind).toHaveLength(1);
  return found[0]!;
};
const deployment = one('Deployment');
const services = objects.filter((o) => o.kind === 'Service');
/** The hub's own Service; the other is PostgreSQL's name (ExternalName). */
const service = services.find((o) => o.spec.type !== 'ExternalName')!;
const postgresService = services.find((o) => o.spec.type === 'ExternalName')!;
const pod = deployment.spec.template.spec;
const container = pod.containers[0];
const hubYaml = kustomization.configMapGenerator[0]!;
const hub = loadHubConfig(join(DIR, hubYaml.files[0]!)).config;

/** Every key/value of `selector` is among `labels`. */
const selects = (selector: Record<string, string>, labels: Record<string, string>) => Object.entries(selector).every(([k, v]) => labels[k] === v);
/** A probe's or target's port: a container port's name or number. */
const containerPort = (port: string | number) => container.ports.find((p: { name: string; containerPort: number }) => p.name === port || p.containerPort === port);
const mountOf = (volume: string) => container.volumeMounts.find((m: { name: string }) => m.name === volume);
const volumeWith = (pick: (v: any) => boolean) => pod.volumes.find(pick);
const under = (file: string, dir: string) => file.startsWith(dir.endsWith('/') ? dir : dir + '/');

describe('Kubernetes manifests of the hub', () => {
  it('parse, and every object has a kind, a name and the hub label', () => {
    expect(objects.map((o) => o.kind).sort()).toEqual(['Deployment', 'IngressRoute', 'Middleware', 'Namespace', 'NetworkPolicy', 'PodDisruptionBudget', 'Service', 'Service']);
    for (const o of objects) {
      expect(o.apiVersion && o.metadata?.name, `${o.kind}`).toBeTruthy();
      if (o.kind !== 'Namespace') expect(o.metadata.labels?.['app.kubernetes.io/name'], `${o.kind} ${o.metadata.name}`).toBe('storegw-hub');
    }
    expect(one('Namespace').metadata.name).toBe(kustomization.namespace);
  });

  it('hold no secret: tokens and the database password come from Secrets created outside git, by reference', () => {
    expect(objects.some((o) => o.kind === 'Secret')).toBe(false);
    expect(JSON.stringify(container.env ?? [])).not.toMatch(/token|password/i);
    const password = volumeWith((v) => v.secret?.secretName === 'storegw-hub-postgres');
    expect(mountOf(password.name).readOnly).toBe(true);
    const pg = (hub.store.database as { postgres: { passwordFile: string } }).postgres;
    expect(under(pg.passwordFile, mountOf(password.name).mountPath), pg.passwordFile).toBe(true);
    expect(readFileSync(join(DIR, 'hub.yaml'), 'utf8')).not.toMatch(/postgres(ql)?:\/\/[^@\s]*:[^@\s]*@/);
    const tokens = volumeWith((v) => v.secret?.secretName === 'storegw-hub-tokens');
    expect(tokens.secret.secretName).toBe('storegw-hub-tokens');
    const dir = mountOf(tokens.name).mountPath;
    expect(mountOf(tokens.name).readOnly).toBe(true);
    for (const f of [hub.auth.gatewayTokensFile, ...hub.auth.opsTokens.map((t) => t.tokenFile)]) expect(under(f, dir), f).toBe(true);
  });

  it('run two hubs on one PostgreSQL (what each does said where replicas is set), rolled with no gap, as the image user, nothing writable', () => {
    expect(deployment.spec.replicas).toBe(2);
    expect(readFileSync(join(DIR, 'hub-deployment.yaml'), 'utf8')).toMatch(/a rollout runs on the pod it was started on and reaches the other's gateways/);
    expect(deployment.spec.strategy).toEqual({ type: 'RollingUpdate', rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } });
    expect(selects(deployment.spec.selector.matchLabels, deployment.spec.template.metadata.labels)).toBe(true);
    const user = /^USER\s+(\d+):(\d+)\s*$/m.exec(readFileSync('Dockerfile', 'utf8'));
    expect(user, 'Dockerfile USER uid:gid').not.toBeNull();
    expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: Number(user![1]), runAsGroup: Number(user![2]), fsGroup: Number(user![2]) });
    expect(container.securityContext).toEqual({ allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } });
    expect(pod.automountServiceAccountToken).toBe(false);
  });

  it('let a drain evict one hub pod at a time', () => {
    const pdb = one('PodDisruptionBudget');
    expect(selects(pdb.spec.selector.matchLabels, deployment.spec.template.metadata.labels)).toBe(true);
    // maxUnavailable, not minAvailable: 1 would block every drain while there is one replica.
    expect(pdb.spec).toEqual({ maxUnavailable: 1, selector: pdb.spec.selector });
  });

  it('run `storegw hub` on the ConfigMap made from hub.yaml, the database PostgreSQL by the ExternalName Service', () => {
    expect(container.image).toBe(kustomization.images[0]!.name);
    expect(kustomization.images[0]!.newTag).toMatch(/^\d+\.\d+\.\d+$/);
    const [cmd, flag, config] = container.args as string[];
    expect([cmd, flag]).toEqual(['hub', '--config']);
    const cm = volumeWith((v) => v.configMap !== undefined);
    expect(cm.configMap.name).toBe(hubYaml.name);
    expect(config).toBe(join(mountOf(cm.name).mountPath, hubYaml.files[0]!));
    expect(objects.some((o) => o.kind === 'PersistentVolumeClaim')).toBe(false);
    const pg = (hub.store.database as { postgres: { host: string; port: number } }).postgres;
    expect(pg.host).toBe(postgresService.metadata.name);
    expect(postgresService.spec.externalName).toMatch(/^[a-z0-9.-]+$/);
    for (const m of container.volumeMounts) expect(volumeWith((v) => v.name === m.name), m.name).toBeDefined();
  });

  it('listen, probe and serve on the port hub.yaml gives, with probes on paths the hub answers', () => {
    expect(containerPort('http').containerPort).toBe(hub.listen.port);
    const routes = readFileSync('src/fleet/hub/api/health.ts', 'utf8');
    for (const probe of ['startupProbe', 'livenessProbe', 'readinessProbe']) {
      const get = container[probe].httpGet;
      expect(containerPort(get.port), probe).toBeDefined();
      expect(routes, `${probe} ${get.path}`).toContain(`app.get('${get.path}'`);
    }
    expect(container.readinessProbe.httpGet.path).toBe('/readyz');
    // Readiness asks the database (src/fleet/hub/api/health.test.ts); liveness must not.
    expect(routes).toMatch(/app\.get\('\/readyz'[\s\S]*store\.ping\(\)/);
    expect(container.livenessProbe.httpGet.path).toBe('/healthz');
    expect(selects(service.spec.selector, deployment.spec.template.metadata.labels)).toBe(true);
    for (const p of service.spec.ports) expect(containerPort(p.targetPort), `service port ${p.name}`).toBeDefined();
  });

  it('size resources from the fleet benchmark, with V8 kept under the memory limit', () => {
    expect(container.resources).toEqual({ requests: { cpu: '500m', memory: '512Mi' }, limits: { memory: '1Gi' } });
    const heap = /--max-old-space-size=(\d+)/.exec(container.env.find((e: { name: string }) => e.name === 'NODE_OPTIONS').value);
    expect(Number(heap![1])).toBeLessThan(1024);
    expect(readFileSync(join(DIR, 'hub-deployment.yaml'), 'utf8')).toContain('from the fleet benchmark, see docs/benchmarks.md');
  });

  it('route wss and the ops API through Traefik to the Service, ops behind an allowlist', () => {
    const route = one('IngressRoute');
    const middlewares = objects.filter((o) => o.kind === 'Middleware').map((o) => o.metadata.name);
    expect(route.spec.entryPoints).toEqual(['websecure']);
    expect(route.spec.tls.secretName).toBeTruthy();
    for (const r of route.spec.routes) {
      for (const s of r.services) {
        expect(s.name).toBe(service.metadata.name);
        expect(service.spec.ports.some((p: { name: string; port: number }) => p.name === s.port || p.port === s.port), `port ${s.port}`).toBe(true);
      }
      for (const m of r.middlewares ?? []) expect(middlewares).toContain(m.name);
    }
    const [connect, ops] = [...route.spec.routes].sort((a, b) => b.priority - a.priority);
    expect(connect.match).toContain('Path(`/v1/gateways/connect`)');
    expect(connect.middlewares).toBeUndefined();
    expect(ops.middlewares.map((m: { name: string }) => m.name)).toEqual(['storegw-ops-only']);
  });

  it('let only Traefik in, to the hub port, and nothing out but PostgreSQL and DNS', () => {
    const np = one('NetworkPolicy');
    expect(selects(np.spec.podSelector.matchLabels, deployment.spec.template.metadata.labels)).toBe(true);
    expect(np.spec.policyTypes).toEqual(['Ingress', 'Egress']);
    const pg = (hub.store.database as { postgres: { port: number } }).postgres;
    expect(np.spec.egress.map((e: { ports: { port: number }[] }) => e.ports.map((p) => p.port))).toEqual([[pg.port], [53, 53]]);
    expect(np.spec.ingress).toHaveLength(1);
    for (const p of np.spec.ingress[0].ports) expect(containerPort(p.port)).toBeDefined();
  });
});

const kubectl = spawnSync('kubectl', ['version', '--client'], { stdio: 'ignore' }).status === 0;
if (!kubectl) console.warn('skipped "kubectl kustomize deploy/k8s": kubectl is not installed');

describe.skipIf(!kubectl)('kubectl kustomize deploy/k8s', () => {
  it('renders: namespaced, the ConfigMap named by its content hash and referenced so, the image pinned', () => {
    const r = spawnSync('kubectl', ['kustomize', DIR], { encoding: 'utf8' });
    expect(r.stderr).toBe('');
    const rendered = documents(r.stdout, 'kustomize output');
    for (const o of rendered.filter((o) => o.kind !== 'Namespace')) expect(o.metadata.namespace, `${o.kind}`).toBe(kustomization.namespace);
    const cm = rendered.find((o) => o.kind === 'ConfigMap')!;
    expect(cm.metadata.name).toMatch(new RegExp(`^${hubYaml.name}-[a-z0-9]{10}$`));
    expect((cm.data as Record<string, string>)['hub.yaml']).toBe(readFileSync(join(DIR, 'hub.yaml'), 'utf8'));
    const d = rendered.find((o) => o.kind === 'Deployment')!;
    expect(d.spec.template.spec.volumes.find((v: { configMap?: { name: string } }) => v.configMap).configMap.name).toBe(cm.metadata.name);
    const img = kustomization.images[0]!;
    expect(d.spec.template.spec.containers[0].image).toBe(`${img.newName}:${img.newTag}`);
    // The part-of label is added to metadata only: selectors stay as written (they are immutable).
    expect(d.spec.selector.matchLabels).toEqual(deployment.spec.selector.matchLabels);
  });
});
