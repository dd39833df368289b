// The tree's layering, checked in `npm test` (and `npm run deps`) by
// dependency-cruiser: dependencies point down, never in a circle.
//
//   src/cli ─┬─> src/app ─> src/gateway ─> src/link, src/cache, src/http ─> edge-config
//            └─> src/demo ─> src/app         src/fleet/agent (defines the host interface src/app implements)
//   sync ─> src/util, edge-config            edge-config ─> nothing of src/ or sync/
//
// Why dependency-cruiser: it is maintained, it reads TypeScript's own import
// forms (type-only imports count: a type import is a dependency of the design
// too), resolves `./x.js` specifiers to the `./x.ts` sources as tsc does, and
// states each rule with a reason. Its usual TypeScript parser is TypeScript's
// JavaScript API, which TypeScript 7 (the native compiler this tree builds
// with) does not have; dependency-cruiser then skips .ts files. So it parses
// with swc instead (@swc/core, a devDependency: one native binary, and a
// parser dependency-cruiser supports as a first-class option), and needs no
// TypeScript API at all. madge would have needed TypeScript's API the same way.
/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'A circle has no bottom: neither side can be understood, tested or loaded without the other.',
      from: {},
      to: { circular: true },
    },
    {
      name: 'edge-config-stands-alone',
      severity: 'error',
      comment: 'Loading or validating a configuration (the CLI, the hub, the fleet agent) must not load the gateway, the journal or anything else of the process.',
      from: { path: '^edge-config/' },
      to: { path: '^(src|sync)/' },
    },
    {
      name: 'sync-below-the-gateway',
      severity: 'error',
      comment: 'The journal and replay are a library the gateway drives: they may use the configuration and the small utilities, nothing that drives them.',
      from: { path: '^sync/' },
      to: { path: '^src/', pathNot: '^src/util/' },
    },
    {
      name: 'lower-layers-not-upward',
      severity: 'error',
      comment: 'The links, the read cache and the HTTP rules are used by the request path and the application, never the other way round.',
      from: { path: '^src/(link|cache|http|util)/' },
      to: { path: '^src/(gateway|app)/' },
    },
    {
      name: 'gateway-is-the-request-path',
      severity: 'error',
      comment: 'src/gateway serves requests; building and running the process is src/app, which uses it.',
      from: { path: '^src/gateway/' },
      to: { path: '^src/app/' },
    },
    {
      name: 'app-only-from-entry-points',
      severity: 'error',
      comment: 'src/app assembles the whole process: only the entry points that start one may import it (the CLI, and the demo, which the CLI runs and which starts gateways in-process).',
      from: { path: '^src/', pathNot: '^src/(app|cli|demo)/' },
      to: { path: '^src/app/' },
    },
    {
      name: 'demo-only-from-cli',
      severity: 'error',
      comment: 'The demo starts whole gateways (src/app): it is an entry point, reached from the CLI only.',
      from: { path: '^(src|sync|edge-config)/', pathNot: '^src/(demo|cli)/' },
      to: { path: '^src/demo/' },
    },
    {
      name: 'fleet-agent-owns-its-host-interface',
      severity: 'error',
      comment: 'The fleet agent runs against AgentHost (src/fleet/agent/host.ts), which it defines and src/app implements; importing the application or the request path would make it an import circle again.',
      from: { path: '^src/fleet/agent/' },
      to: { path: '^src/(app|gateway)/' },
    },
    {
      name: 'no-dist',
      severity: 'error',
      comment: 'Sources never import the build output: it may be stale or missing (tests run the sources).',
      from: {},
      to: { path: '^dist/' },
    },
    {
      name: 'not-to-unresolvable',
      severity: 'error',
      comment: 'An import the cruiser cannot resolve would slip past every rule above. The dashboard\'s browser modules are the exception: they import uPlot from ./vendor/, which the hub serves out of node_modules.',
      from: { pathNot: '^src/fleet/dashboard/public/' },
      to: { couldNotResolve: true },
    },
  ],
  options: {
    parser: 'swc',
    doNotFollow: { path: 'node_modules' },
    // Packages are resolved as Node loads them from an ES module: by `exports` when they
    // have it (uuid has no `main`), under Node's conditions for `import`.
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'node', 'default'] },
    // Hand-written declarations of the dashboard's browser modules: ambient `export const x: T;`, which swc parses only as a .d.ts (and types, no imports).
    exclude: { path: '\\.d\\.ts$' },
  },
};
