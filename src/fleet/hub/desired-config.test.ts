import { describe, expect, it } from 'vitest';
import { parseGatewayConfig } from '../../../edge-config/load.js';
import { minimalGatewayYaml } from '../../../test/support/minimal-config.js';
import { checkDesiredConfig, configVersionOf } from './desired-config.js';

const config = (storeId: string) => minimalGatewayYaml(storeId, 'eu');

describe('desired config checks', () => {
  it('gives the version the gateway will report', () => {
    const text = config('store-1');
    expect(configVersionOf(text)).toBe(parseGatewayConfig(text, 'x.yaml', {}).version);
    expect(checkDesiredConfig(text, ['store-1'], 'store-1.yaml')).toEqual({ ok: true, version: configVersionOf(text), fullyChecked: true });
  });

  it('refuses an invalid config with the gateway loader\'s messages', () => {
    const out = checkDesiredConfig(config('store-1').replace('class: normal', 'class: urgent'), ['store-1'], 'store-1.yaml');
    expect(out).toMatchObject({ ok: false, problems: [expect.stringContaining('store-1.yaml:routes[0].class: must be one of')] });
  });

  it('refuses a literal store.id that is not the target\'s', () => {
    const out = checkDesiredConfig(config('store-1'), ['store-1', 'store-2'], 'rollout');
    expect(out).toMatchObject({ ok: false, problems: [expect.stringContaining('rollout:store.id: is "store-1", not the id of store-2')] });
  });

  it('takes a shared config whose store.id comes from each gateway\'s environment', () => {
    const out = checkDesiredConfig(config('"${STORE_ID}"'), ['store-1', 'store-2'], 'rollout');
    expect(out).toMatchObject({ ok: true, fullyChecked: false });
  });
});
