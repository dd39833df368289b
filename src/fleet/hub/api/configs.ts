// Desired configs: an operator sets one gateway's config (PUT
// /v1/gateways/:id/config); the hub keeps it and applies it now or when the
// gateway next connects (desired.ts). Connected to another hub replica, the
// gateway gets it from that one, told through `desiredElsewhere`.
import type { FastifyPluginAsync } from 'fastify';
import type { Logger } from 'pino';
import { parseCommandArgs } from '../../protocol.js';
import type { Who } from '../commands.js';
import type { Connections } from '../connections.js';
import { checkDesiredConfig } from '../desired-config.js';
import type { DesiredState } from '../desired.js';
import type { Ingest } from '../ingest.js';
import type { GatewayRegistry } from '../store/registry.js';
import { opsIdentity } from './ops-auth.js';
import { GATEWAY_ID } from './shapes.js';

export interface ConfigsDeps {
  gateways: GatewayRegistry;
  ingest: Ingest;
  connections: Connections;
  desired: DesiredState;
  /** Gateways connected to other hub replicas (and maybe this one); empty with one replica. */
  onlineElsewhere(): Promise<ReadonlySet<string>>;
  /** The desired config of a gateway not connected here changed: the replica holding it pushes it (none with one replica). */
  desiredElsewhere(gatewayId: string, who: Who): void;
  /** Whether a gateway id has connected before or is provisioned. */
  known(id: string): Promise<boolean>;
  logger: Logger;
}

export function configsApi(d: ConfigsDeps): FastifyPluginAsync {
  return async (app) => {
    app.put<{ Params: { id: string }; Body: string | { yaml: string } }>('/v1/gateways/:id/config', { schema: { params: GATEWAY_ID } }, async (req, reply) => {
      const yaml = typeof req.body === 'string' ? req.body : (req.body as { yaml?: unknown } | undefined)?.yaml;
      if (typeof yaml !== 'string' || !parseCommandArgs('config.apply', { yaml }).ok) {
        return reply.code(400).send({ error: 'invalid_body', message: 'the body is the config YAML (Content-Type: application/yaml), or JSON {"yaml": "..."}, of at most 512 KiB' });
      }
      const id = req.params.id;
      if (!(await d.known(id))) return reply.code(404).send({ error: 'not_found', message: `no gateway ${id} (neither connected before nor in the gateway tokens file)` });
      const check = checkDesiredConfig(yaml, [id], `${id}.yaml`);
      if (!check.ok) return reply.code(400).send({ error: 'invalid_config', problems: check.problems });
      const identity = opsIdentity(req);
      d.logger.info({ gateway: id, version: check.version, by: identity.name }, 'desired config set');
      void d.desired.set(id, yaml, check.version, identity).then((o) => {
        if (o.status === 'offline') d.desiredElsewhere(id, identity);
      });
      await d.ingest.flush();
      const g = await d.gateways.get(id);
      const online = d.connections.get(id) !== undefined || (await d.onlineElsewhere()).has(id);
      return reply.code(202).send({ id, version: check.version, fullyChecked: check.fullyChecked, online, config: await d.desired.view(id, g?.configVersion) });
    });
  };
}
