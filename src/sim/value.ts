// The values scenario code computes with: unsigned 64-bit integers (bigint, exact) and references
// to kernel objects ({ ref: id }). Both are plain data, so frames and objects snapshot exactly.

export interface KRef {
  readonly ref: number;
}

export type Value = bigint | KRef;

export const U64_MASK = (1n << 64n) - 1n;

export function isRef(v: Value): v is KRef {
  return typeof v !== 'bigint';
}

export function truthy(v: Value): boolean {
  return typeof v === 'bigint' ? v !== 0n : true;
}

export function showValue(v: Value): string {
  return typeof v === 'bigint' ? '0x' + v.toString(16) : `&obj${v.ref}`;
}
