// What a command came to: the body of its `result` message.

export type Outcome = { ok: true; result: unknown } | { ok: false; error: { code: string; message: string } };
