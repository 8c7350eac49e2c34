/**
 * A memory that a hostImports module provides for the module's memory import is used as it is,
 * never replaced, and only when the engine itself will keep it under the cap: its current size must
 * be within the cap and its declared maximum at most the cap. The JS API does not show a memory's
 * maximum, so a probe module that imports a memory of maximum `cap` is linked against it: V8 accepts
 * the link exactly when the memory's maximum is set and not above `cap`.
 */
const PAGE = 65536;
const probes = new Map<string, WebAssembly.Module>();

function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    let byte = n & 0x7f;
    n = Math.floor(n / 128);
    if (n !== 0) byte |= 0x80;
    out.push(byte);
  } while (n !== 0);
  return out;
}

/** `(module (import "m" "m" (memory [shared] 0 cap)))` */
function probe(cap: number, shared: boolean): WebAssembly.Module {
  const key = `${cap}:${shared}`;
  let module = probes.get(key);
  if (module === undefined) {
    const entry = [1, 0x6d, 1, 0x6d, 0x02, shared ? 0x03 : 0x01, 0, ...uleb(cap)];
    const section = [0x02, ...uleb(entry.length + 1), 1, ...entry];
    module = new WebAssembly.Module(new Uint8Array([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, ...section]));
    probes.set(key, module);
  }
  return module;
}

/** Throws (the module then fails to load: INVALID_MODULE) unless `memory` stays within `capPages`. */
export function checkProvidedMemory(
  memory: WebAssembly.Memory,
  where: { module: string; name: string; shared: boolean },
  capPages: number,
): void {
  const label = `the memory hostImports provides for ${where.module}.${where.name}`;
  const pages = memory.buffer.byteLength / PAGE;
  if (pages > capPages) {
    throw new Error(`${label} has ${pages} pages, above the module's memory limit of ${capPages} pages`);
  }
  try {
    new WebAssembly.Instance(probe(capPages, where.shared), { m: { m: memory } });
  } catch {
    throw new Error(
      `${label} must be created with a maximum of at most ${capPages} pages (the module's memory limit)` +
        `${where.shared ? ' and shared' : ''}; the pool refuses it rather than replace it`,
    );
  }
}
