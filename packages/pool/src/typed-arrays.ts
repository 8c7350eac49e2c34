/**
 * Reading a caller's typed arrays through the engine's own getters. A subclass can override
 * `length`, `byteLength` or `buffer`, and a proxy passes `instanceof`; neither can answer for these
 * getters, which read the array's internal slots (and throw on anything that is not a typed array).
 * What the pool checks and copies is then what the array really holds.
 */
const typedArrayProto = Object.getPrototypeOf(Int8Array.prototype) as object;
const intrinsic = (name: string): ((this: unknown) => unknown) =>
  Object.getOwnPropertyDescriptor(typedArrayProto, name)!.get as (this: unknown) => unknown;

export const bufferOf = intrinsic('buffer');
export const byteOffsetOf = intrinsic('byteOffset');
export const lengthOf = intrinsic('length');

/**
 * A plain `Uint8Array` over the same bytes as `value` (no copy), or undefined when `value` is not a
 * real typed array (a proxy) or its buffer is detached.
 */
export function plainBytes(value: Uint8Array): Uint8Array | undefined {
  try {
    return new Uint8Array(
      bufferOf.call(value) as ArrayBufferLike,
      byteOffsetOf.call(value) as number,
      lengthOf.call(value) as number,
    );
  } catch {
    return undefined;
  }
}

/** The real length of a Uint8Array (its own getters ignored); -1 when `value` is not a real one. */
export function bytesLength(value: Uint8Array): number {
  try {
    return lengthOf.call(value) as number;
  } catch {
    return -1;
  }
}

/** A copy of a Uint8Array's bytes in a new plain Uint8Array, or undefined when `value` cannot be read (see plainBytes). */
export function ownCopy(value: Uint8Array): Uint8Array | undefined {
  const bytes = plainBytes(value);
  if (bytes === undefined) return undefined;
  const copy = new Uint8Array(bytes.length);
  copy.set(bytes);
  return copy;
}
