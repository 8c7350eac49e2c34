// Adapter for hash-wasm's SHA-256 binary, run as shipped: it hashes whatever is in its fixed 16 KiB
// buffer (Hash_GetBuffer), so the input goes through it in chunks, as hash-wasm's own JavaScript does.
// Loaded inside each worker by `ModuleSpec.adapter`.

const encoder = new TextEncoder();
const CHUNK = 16 * 1024;

export default {
  /** SHA-256 of a string (UTF-8) or bytes: 32 bytes. */
  sha256(instance, data) {
    const bytes = typeof data === 'string' ? encoder.encode(data) : data;
    const { memory, Hash_GetBuffer, Hash_Init, Hash_Update, Hash_Final } = instance.exports;
    const buffer = Hash_GetBuffer();
    Hash_Init(256);
    for (let at = 0; at < bytes.length; at += CHUNK) {
      const chunk = bytes.subarray(at, at + CHUNK);
      new Uint8Array(memory.buffer, buffer, chunk.length).set(chunk);
      Hash_Update(chunk.length);
    }
    Hash_Final();
    return new Uint8Array(memory.buffer, buffer, 32).slice();
  },
};
