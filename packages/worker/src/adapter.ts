/**
 * Adapters: a user's JS module, loaded in each worker, whose functions drive the live instance
 * (fixed-buffer libraries, wasm-bindgen output) with the binary left as shipped.
 */
import { pathToFileURL } from 'node:url';
import { TaskFault } from './abi';
import { thrownText } from './thrown';

/** One function of an adapter: called with the live instance and the task's params. */
export type AdapterFunction = (instance: WebAssembly.Instance, ...params: unknown[]) => unknown;

/** The default export of an adapter module (or its module.exports). */
export type Adapter = Record<string, AdapterFunction>;

/** Loads an adapter module and returns its functions; throws when its default export has none. */
export async function loadAdapter(path: string): Promise<Adapter> {
  const loaded = (await import(pathToFileURL(path).href)) as { default?: unknown };
  return adapterFunctions(loaded.default, path);
}

/** The functions of an adapter's default export, by name. */
export function adapterFunctions(value: unknown, path: string): Adapter {
  const functions: Adapter = {};
  if (typeof value === 'object' && value !== null) {
    for (const [name, fn] of Object.entries(value)) {
      if (typeof fn === 'function') functions[name] = fn as AdapterFunction;
    }
  }
  if (Object.keys(functions).length === 0) {
    throw new Error(`adapter ${path}: its default export must be an object of functions`);
  }
  return functions;
}

/**
 * Calls an adapter function and makes its value safe to post: a typed array becomes a copy of just
 * its bytes (a view into the instance's memory would otherwise carry the whole memory along), and
 * anything structured clone refuses fails the task with INVALID_OUTPUT.
 */
export function callAdapter(
  name: string,
  fn: AdapterFunction,
  instance: WebAssembly.Instance,
  params: unknown[],
): unknown {
  let value: unknown;
  try {
    value = fn(instance, ...params);
  } catch (error) {
    if (error instanceof WebAssembly.RuntimeError || error instanceof TaskFault) throw error;
    if (error instanceof RangeError) throw error;
    throw new TaskFault('TRAP', `adapter function ${name} threw: ${thrownText(error)}`);
  }
  if (
    value === null ||
    (typeof value !== 'object' && typeof value !== 'function' && typeof value !== 'symbol')
  ) {
    return value;
  }
  if (ArrayBuffer.isView(value)) {
    const view = value as Uint8Array;
    return view.slice();
  }
  if (value instanceof Promise) {
    // Its rejection, if it comes, is the task's (failed now), not an unhandled one that ends the worker.
    try {
      // The engine's then(), not a subclass's: marking it handled must not run the adapter's code.
      void Promise.prototype.then.call(value, undefined, () => undefined);
    } catch {
      // Not a promise the engine knows (a proxy): nothing to mark.
    }
    throw new TaskFault(
      'INVALID_OUTPUT',
      `adapter function ${name} returned a Promise; adapters run synchronously`,
    );
  }
  try {
    return structuredClone(value);
  } catch (error) {
    throw new TaskFault(
      'INVALID_OUTPUT',
      `adapter function ${name} returned a value that cannot be cloned: ${thrownText(error)}`,
    );
  }
}
