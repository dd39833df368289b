// The least whole gateway config, for the tests that need one to parse, set as
// desired, or roll out, and nothing to run.

/** The least whole gateway config: what the hub's tests set as a gateway's desired config or roll out. */
export function minimalGatewayYaml(storeId: string, region: string): string {
  return `version: 1
store: { id: ${storeId}, region: ${region} }
gateway:
  listen: { port: 8080 }
  admin: { port: 9080 }
paths:
  - name: fiber
    baseUrl: http://10.60.0.1
routes:
  - name: all
    match: { path: /* }
    class: normal
`;
}
