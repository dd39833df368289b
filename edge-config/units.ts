const UNITS: Record<string, number> = {
  B: 1,
  KB: 1e3,
  MB: 1e6,
  GB: 1e9,
  TB: 1e12,
  KIB: 2 ** 10,
  MIB: 2 ** 20,
  GIB: 2 ** 30,
  TIB: 2 ** 40,
};

/** Parses a byte size ("64MiB", "1GB", 4096). Throws on anything else. */
export function parseSize(value: number | string): number {
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value) || value < 0) throw new Error(`not a byte size: ${value}`);
    return value;
  }
  const m = /^\s*([0-9]+(?:\.[0-9]+)?)\s*([A-Za-z]*)\s*$/.exec(value);
  const unit = UNITS[(m?.[2] || 'B').toUpperCase()];
  if (!m || unit === undefined) throw new Error(`not a byte size: "${value}"`);
  return Math.floor(Number(m[1]) * unit);
}

/** Why `value` is no usable byte size (not one, or more than a Number holds exactly), or undefined. */
export function sizeProblem(value: number | string): string | undefined {
  let bytes: number;
  try {
    bytes = parseSize(value);
  } catch (e) {
    return (e as Error).message;
  }
  return Number.isSafeInteger(bytes) ? undefined : `is too large (at most ${Number.MAX_SAFE_INTEGER} bytes)`;
}
