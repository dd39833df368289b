// The node flag the gateway is deployed with (the systemd unit's and the image's
// NODE_OPTIONS). Started without it, V8 grows its young generation to 128 MiB:
// after an outage the gateway's RSS peaks about 100 MiB higher, and under load
// of large answers it falls into full collections set off by their Buffers, at
// up to twice the CPU per answer (docs/operations.md, "Memory"). A store PC set
// up by hand is where that goes unseen, so the gateway says so at start.

/** The node flags the gateway is deployed with: test/deploy holds the unit's and the image's NODE_OPTIONS to these, and the tests run the gateway with them. */
export const GATEWAY_NODE_FLAGS: readonly string[] = ['--max-semi-space-size=16'];

/** V8 takes its flags with dashes or underscores, and this one only with `=` (node refuses `--max-semi-space-size 16`). */
const YOUNG_GENERATION_CAP = /^--max[-_]semi[-_]space[-_]size=/;

/** The warning to log at start when node caps no young generation: neither its command line nor NODE_OPTIONS sets --max-semi-space-size. */
export function youngGenerationWarning(execArgv: readonly string[], nodeOptions: string | undefined): string | undefined {
  const flags = [...execArgv, ...(nodeOptions ?? '').split(/\s+/)];
  if (flags.some((f) => YOUNG_GENERATION_CAP.test(f))) return undefined;
  return `node runs without --max-semi-space-size: V8's young generation grows to 128 MiB, which costs about 100 MiB more memory after an outage and up to twice the CPU per large answer under load; run the gateway with NODE_OPTIONS=${GATEWAY_NODE_FLAGS.join(' ')}, as deploy/systemd/storegw-gateway.service and the image do (docs/operations.md, "Memory")`;
}
