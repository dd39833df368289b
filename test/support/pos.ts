// What POS terminals send, and a patient assertion for things that settle asynchronously.

/** An Odoo 17 POS `sync_from_ui` call carrying one order. */
export function posOrderBody(uuid: string, amount = 12.5): string {
  return JSON.stringify({
    jsonrpc: '2.0',
    method: 'call',
    id: 1,
    params: {
      model: 'pos.order',
      method: 'sync_from_ui',
      args: [[{ uuid, amount_total: amount, lines: [[0, 0, { product_id: 42, qty: 1, price_unit: amount }]] }]],
      kwargs: {},
    },
  });
}

/** Retries `check` until it passes or `timeoutMs` runs out (then throws its last error). */
export async function eventually(check: () => Promise<void> | void, timeoutMs = 10_000, everyMs = 50): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await check();
      return;
    } catch (e) {
      if (Date.now() > deadline) throw e;
      await new Promise((r) => setTimeout(r, everyMs));
    }
  }
}

/** The gateway route for POS orders, as a YAML list item: buffered, keyed by the order's uuid. */
export function posOrdersRoute(timeoutMs: number, orderingKey: 'device' | 'store' | 'none' = 'device'): string {
  return `  - name: pos-orders
    match: { method: POST, jsonrpc: { model: pos.order, method: sync_from_ui } }
    class: critical
    mode: buffer
    dedupe: natural
    timeoutMs: ${timeoutMs}
    idempotencyKey: { jsonPath: "params.args[0][0].uuid" }
    orderingKey: ${orderingKey}`;
}
