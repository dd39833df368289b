// Which Odoo release the simulator answers as. The releases differ, for what the
// gateway sees, in how the POS pushes orders (16/17 create_from_ui, 18/19
// sync_from_ui) and in whether POST /pos/ping exists (19 only).

export type OdooProfile = 'odoo-16' | 'odoo-17' | 'odoo-18' | 'odoo-19';

export const PROFILES: readonly OdooProfile[] = ['odoo-16', 'odoo-17', 'odoo-18', 'odoo-19'];

export const DEFAULT_PROFILE: OdooProfile = 'odoo-18';

export type PosPushMethod = 'create_from_ui' | 'sync_from_ui';

export function posPushMethod(p: OdooProfile): PosPushMethod {
  return p === 'odoo-16' || p === 'odoo-17' ? 'create_from_ui' : 'sync_from_ui';
}

/** 19's point_of_sale controller has `@http.route(["/pos/ping"], type="jsonrpc", auth="user")`; 18.0's has no such route. */
export function hasPosPing(p: OdooProfile): boolean {
  return p === 'odoo-19';
}

export function isProfile(v: unknown): v is OdooProfile {
  return PROFILES.includes(v as OdooProfile);
}
