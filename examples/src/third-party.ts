/**
 * The WebAssembly binaries two npm packages ship, byte for byte, for running them through adapters
 * (examples/adapters/): xxhash-wasm's `workerd/xxhash.wasm`, and hash-wasm's SHA-256 binary, which
 * hash-wasm embeds in its JavaScript as base64.
 */
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';

/** Path of xxhash-wasm's own `xxhash.wasm`. */
export function xxhashWasmPath(): string {
  // The package's exports map hides the file, so it is found next to its CommonJS entry.
  return join(dirname(require.resolve('xxhash-wasm')), '..', 'workerd', 'xxhash.wasm');
}

/** hash-wasm's binary of the hash `name` (e.g. 'sha256'), decoded from its UMD bundle. */
export function hashWasmBinary(name: string): Uint8Array {
  const bundle = readFileSync(require.resolve('hash-wasm'), 'utf8');
  const quoted = JSON.stringify(name);
  const match = new RegExp(`var name\\$(\\w+) = ${quoted};\\s*var data\\$\\1 = "([A-Za-z0-9+/=]+)"`).exec(
    bundle,
  );
  if (match === null) throw new Error(`hash-wasm's bundle has no binary named ${quoted}`);
  return new Uint8Array(Buffer.from(match[2]!, 'base64'));
}

/** Directory of the example adapters. */
export const adaptersDir = resolve(__dirname, '..', 'adapters');

/** Directory of the C and Rust example binaries (built from examples/modules/native/, committed). */
export const nativeWasmDir = resolve(__dirname, '..', 'modules', 'native', 'wasm');
