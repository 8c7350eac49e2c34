// Adapter for the wasm binary xxhash-wasm ships (node_modules/xxhash-wasm/workerd/xxhash.wasm), run
// as shipped: it hashes bytes it finds at a fixed place in its memory (offset 0), so the adapter
// grows the memory when needed, copies the input there and calls xxh32 / xxh64, as the package's own
// JavaScript does. Loaded inside each worker by `ModuleSpec.adapter`.

const encoder = new TextEncoder();
const PAGE = 65536;

/** Puts `data` at offset 0 of the instance's memory; returns its length. */
function place(instance, data) {
  const bytes = typeof data === 'string' ? encoder.encode(data) : data;
  const memory = instance.exports.mem;
  if (memory.buffer.byteLength < bytes.length) {
    memory.grow(Math.ceil((bytes.length - memory.buffer.byteLength) / PAGE));
  }
  new Uint8Array(memory.buffer).set(bytes);
  return bytes.length;
}

export default {
  /** XXH32 of a string (UTF-8) or bytes, as an unsigned number. */
  h32(instance, data, seed = 0) {
    const length = place(instance, data);
    return instance.exports.xxh32(0, length, seed) >>> 0;
  },
  /** XXH64 of a string (UTF-8) or bytes, as an unsigned bigint. */
  h64(instance, data, seed = 0n) {
    const length = place(instance, data);
    return BigInt.asUintN(64, instance.exports.xxh64(0, length, BigInt(seed)));
  },
};
