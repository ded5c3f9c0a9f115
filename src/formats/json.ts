/** JSON with object keys sorted (stable across runs and platforms), two-space indent and a final newline. */
export function stableJson(value: unknown): string {
  return `${JSON.stringify(sortKeys(value), null, 2)}\n`;
}

function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (v && typeof v === 'object' && (v as { toJSON?: unknown }).toJSON === undefined) {
    const o = v as Record<string, unknown>;
    const r: Record<string, unknown> = {};
    for (const k of Object.keys(o).sort()) if (o[k] !== undefined) r[k] = sortKeys(o[k]);
    return r;
  }
  return v;
}
