// Request shapes more than one resource of the ops API takes.

/** A gateway id in a URL, as the gateway config allows it for store.id. */
export const GATEWAY_ID = { type: 'object', properties: { id: { type: 'string', pattern: '^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$' } }, required: ['id'] } as const;

/** Which gateways a fleet-wide call is about: all, or those of a region and/or with a tag. */
export const SELECTOR = { region: { type: 'string', minLength: 1 }, tag: { type: 'string', minLength: 1 } } as const;

