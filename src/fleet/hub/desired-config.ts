// Checking a desired gateway config before the hub keeps it: the gateway
// validates again when it applies it, but a config that cannot work is better
// refused to the operator than rolled back by a thousand stores. Pure.
import { createHash } from 'node:crypto';
import { parse as parseYaml } from 'yaml';
import { ConfigError } from '../../../edge-config/errors.js';
import { parseGatewayConfig } from '../../../edge-config/load.js';

/** The version a gateway reports for this text (edge-config/load.ts computes it the same way). */
export function configVersionOf(text: string): string {
  return createHash('sha256').update(text).digest('hex').slice(0, 12);
}

export type DesiredCheck =
  | {
      ok: true;
      version: string;
      /** False when the text uses ${VARS} only the gateways have: then its schema is checked by each gateway. */
      fullyChecked: boolean;
    }
  | { ok: false; problems: string[] };

const ENV_PROBLEM = /^environment variable \S+ is not set$/;

/**
 * Validates `yaml` as a gateway config for each of `gatewayIds`. A config for
 * several gateways takes its store.id from the environment of each
 * (`store: { id: ${STORE_ID} }`); a literal store.id fits one gateway only.
 */
export function checkDesiredConfig(yaml: string, gatewayIds: readonly string[], label: string): DesiredCheck {
  let storeId: unknown;
  let fullyChecked = true;
  try {
    storeId = parseGatewayConfig(yaml, label, {}).config.store.id;
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    if (!e.problems.every((p) => ENV_PROBLEM.test(p.message))) return { ok: false, problems: e.message.split('\n') };
    fullyChecked = false;
    const raw = (parseYaml(yaml) as { store?: { id?: unknown } } | null)?.store?.id;
    storeId = typeof raw === 'string' && !raw.includes('${') ? raw : undefined;
  }
  const wrong = storeId === undefined ? [] : gatewayIds.filter((id) => id !== storeId);
  if (wrong.length > 0) {
    const shown = wrong.slice(0, 5).join(', ') + (wrong.length > 5 ? ` and ${wrong.length - 5} more` : '');
    return { ok: false, problems: [`${label}:store.id: is "${String(storeId)}", not the id of ${shown} (use store: { id: \${STORE_ID} } for a config shared by several gateways)`] };
  }
  return { ok: true, version: configVersionOf(yaml), fullyChecked };
}
