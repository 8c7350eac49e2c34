/**
 * Registration of real modules: checks `ModuleSpec.wasi`, `init`, `abi` and `adapter`, and plans how
 * a worker calls each function (see @wasmpool/worker's real-module.ts).
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FunctionSignature, RealCall, RealModuleLoad, WasiLoad } from '@wasmpool/worker';
import { adapterFunctionNames } from './adapter-names';
import { WasmPoolError } from '../errors';
import type { ModuleSpec } from '../types';
import type { WasiOptions } from './real-module-types';
import { ownCopy } from '../typed-arrays';

export const WASI_MODULE = 'wasi_snapshot_preview1';
const DEFAULT_MAX_OUTPUT_BYTES = 1024 * 1024;
const MAX_OUTPUT_BYTES = 256 * 1024 * 1024;
const AS_RUNTIME = new Set(['__new', '__pin', '__unpin', '__collect']);

type Export = { name: string; signature: FunctionSignature };

/** The signature, as tasks are sent, of a function that takes a request object (see real-tasks.ts). */
const REQUEST_SIGNATURE: FunctionSignature = { params: ['unknown'], results: ['unknown'] };

/** What registration adds to a module version for a real module. */
export interface RealModulePlan {
  load: RealModuleLoad;
  /** The functions tasks may call, in the order the worker binds them (exports, then adapter functions). */
  functions: Export[];
  alloc: string;
  dealloc: string;
  adapterFunctions: string[];
}

function invalid(name: string, field: string, why: string): WasmPoolError {
  return new WasmPoolError('INVALID_CONFIG', `modules.${name}.${field} ${why}`);
}

const isStringArray = (value: unknown): value is string[] =>
  Array.isArray(value) && value.every((item) => typeof item === 'string');

function isStringRecord(value: unknown): value is Record<string, string> {
  return (
    typeof value === 'object' &&
    value !== null &&
    !Array.isArray(value) &&
    Object.values(value).every((item) => typeof item === 'string')
  );
}

const utf8 = new TextEncoder();

/** Checks `ModuleSpec.wasi` and turns it into what workers need. */
export function wasiLoad(name: string, wasi: ModuleSpec['wasi']): WasiLoad | undefined {
  if (wasi === undefined || wasi === false) return undefined;
  const options: WasiOptions = wasi === true ? {} : wasi;
  if (typeof options !== 'object' || options === null) {
    throw invalid(name, 'wasi', 'must be true or an object of grants');
  }
  const { args = [], env = {}, files = {}, clock = 'real', random = 'real' } = options;
  const maxOutputBytes = options.maxOutputBytes ?? DEFAULT_MAX_OUTPUT_BYTES;
  if (!isStringArray(args) || args.some((arg) => arg.includes('\0'))) {
    throw invalid(name, 'wasi.args', 'must be an array of strings without NUL characters');
  }
  checkEnv(env, (why) => invalid(name, 'wasi.env', why));
  if (typeof files !== 'object' || files === null || Array.isArray(files)) {
    throw invalid(name, 'wasi.files', 'must be an object of path → Uint8Array or string');
  }
  const fileList: WasiLoad['files'] = [];
  for (const [path, data] of Object.entries(files)) {
    const parts = path.replace(/^\/+/, '').split('/');
    if (parts.some((part) => part === '' || part === '.' || part === '..' || part.includes('\0'))) {
      throw invalid(
        name,
        'wasi.files',
        `has a bad path ${JSON.stringify(path)} (no empty, '.' or '..' parts)`,
      );
    }
    const bytes =
      typeof data === 'string' ? utf8.encode(data) : data instanceof Uint8Array ? ownCopy(data) : undefined;
    if (bytes === undefined) {
      throw invalid(
        name,
        'wasi.files',
        `[${JSON.stringify(path)}] must be a string or a readable Uint8Array (not detached, not a proxy)`,
      );
    }
    fileList.push({ path: parts.join('/'), data: bytes });
  }
  let fixedTimeMs: number | null = null;
  if (clock !== 'real') {
    if (
      typeof clock !== 'object' ||
      clock === null ||
      !Number.isFinite(clock.fixedTimeMs) ||
      clock.fixedTimeMs < 0
    ) {
      throw invalid(name, 'wasi.clock', "must be 'real' or { fixedTimeMs: a number ≥ 0 }");
    }
    fixedTimeMs = clock.fixedTimeMs;
  }
  let randomSeed: number | null = null;
  if (random !== 'real') {
    if (typeof random !== 'object' || random === null || !Number.isInteger(random.seed)) {
      throw invalid(name, 'wasi.random', "must be 'real' or { seed: an integer }");
    }
    randomSeed = random.seed >>> 0;
  }
  if (!Number.isInteger(maxOutputBytes) || maxOutputBytes < 0 || maxOutputBytes > MAX_OUTPUT_BYTES) {
    throw invalid(name, 'wasi.maxOutputBytes', `must be an integer from 0 to ${MAX_OUTPUT_BYTES}`);
  }
  return {
    args: [...args],
    env: Object.entries(env),
    files: fileList,
    fixedTimeMs,
    randomSeed,
    maxOutputBytes,
  };
}

/** Environment variables: names without '=' or NUL, values without NUL. */
export function checkEnv(env: unknown, fail: (why: string) => Error): asserts env is Record<string, string> {
  if (!isStringRecord(env)) throw fail('must be an object of name → string');
  for (const [key, value] of Object.entries(env)) {
    if (key === '' || key.includes('=') || key.includes('\0') || value.includes('\0')) {
      throw fail(`has a bad variable ${JSON.stringify(key)} (names need no '=' or NUL, values no NUL)`);
    }
  }
}

function adapterPath(name: string, adapter: ModuleSpec['adapter']): string | undefined {
  if (adapter === undefined) return undefined;
  let path: string;
  if (adapter instanceof URL || (typeof adapter === 'string' && adapter.startsWith('file:'))) {
    try {
      path = fileURLToPath(adapter);
    } catch (error) {
      throw invalid(name, 'adapter', `is not a file URL: ${(error as Error).message}`);
    }
  } else if (typeof adapter === 'string' && adapter.length > 0) {
    path = resolve(adapter);
  } else {
    throw invalid(name, 'adapter', 'must be a file path or a file: URL');
  }
  if (!existsSync(path)) throw invalid(name, 'adapter', `names no file: ${path}`);
  return path;
}

/**
 * Checks the real-module fields of a spec against the module's exports and imports. Returns
 * undefined for a module that needs none of it (the fast, direct calling path).
 */
export async function planRealModule(
  name: string,
  spec: ModuleSpec,
  exports: readonly Export[],
): Promise<RealModulePlan | undefined> {
  const wasi = wasiLoad(name, spec.wasi);
  const byName = new Map(exports.map((entry) => [entry.name, entry]));
  const init = byName.has('_initialize') ? ['_initialize'] : [];
  if (spec.init !== undefined) {
    if (!isStringArray(spec.init)) throw invalid(name, 'init', 'must be an array of export names');
    for (const exportName of spec.init) {
      const entry = byName.get(exportName);
      if (entry === undefined)
        throw invalid(name, 'init', `names ${JSON.stringify(exportName)}, which the module does not export`);
      if (entry.signature.params.length > 0) {
        throw invalid(name, 'init', `names ${exportName}, which takes parameters`);
      }
      if (!init.includes(exportName)) init.push(exportName);
    }
  }
  let alloc = 'alloc';
  let dealloc = 'dealloc';
  const assemblyScript = spec.abi === 'assemblyscript';
  if (spec.abi !== undefined && !assemblyScript) {
    const abi = spec.abi as { alloc?: unknown; dealloc?: unknown };
    if (typeof abi !== 'object' || abi === null) {
      throw invalid(name, 'abi', "must be 'assemblyscript' or { alloc?, dealloc? } (export names)");
    }
    for (const [field, value] of [
      ['alloc', abi.alloc],
      ['dealloc', abi.dealloc],
    ] as const) {
      if (value === undefined) continue;
      if (typeof value !== 'string' || !byName.has(value)) {
        throw invalid(name, `abi.${field}`, `must name an exported function; got ${JSON.stringify(value)}`);
      }
    }
    alloc = (abi.alloc as string | undefined) ?? alloc;
    dealloc = (abi.dealloc as string | undefined) ?? dealloc;
  }
  if (assemblyScript) {
    const missing = ['__new', '__pin', '__unpin'].filter((runtime) => !byName.has(runtime));
    if (missing.length > 0) {
      throw invalid(
        name,
        'abi',
        `is 'assemblyscript' but the module does not export ${missing.join(', ')}: build it with asc --exportRuntime`,
      );
    }
    // AssemblyScript's allocator is __new; the (ptr, len) convention does not apply.
    alloc = dealloc = '';
  }
  const adapter = adapterPath(name, spec.adapter);
  let adapterNames: string[] = [];
  if (adapter !== undefined) {
    try {
      adapterNames = await adapterFunctionNames(adapter);
    } catch (error) {
      throw invalid(name, 'adapter', `cannot be loaded: ${(error as Error).message}`);
    }
    if (adapterNames.length === 0) throw invalid(name, 'adapter', 'has no function in its default export');
  }

  const functions: Export[] = [...exports];
  const calls: (RealCall | null)[] = functions.map((entry) => {
    if (wasi !== undefined && entry.name === '_start') return { kind: 'command' };
    if (assemblyScript && !AS_RUNTIME.has(entry.name))
      return { kind: 'assemblyscript', signature: entry.signature };
    return null;
  });
  for (const adapterName of adapterNames) {
    const at = functions.findIndex((entry) => entry.name === adapterName);
    const entry = { name: adapterName, signature: REQUEST_SIGNATURE } satisfies Export;
    if (at >= 0) {
      functions[at] = entry;
      calls[at] = { kind: 'adapter' };
    } else {
      functions.push(entry);
      calls.push({ kind: 'adapter' });
    }
  }
  // A function called through a request object takes it as its one argument.
  calls.forEach((call, index) => {
    if (call !== null) functions[index] = { name: functions[index]!.name, signature: REQUEST_SIGNATURE };
  });
  if (
    wasi === undefined &&
    init.length === 0 &&
    adapter === undefined &&
    calls.every((call) => call === null)
  ) {
    return spec.abi === undefined
      ? undefined
      : { load: { init, calls }, functions, alloc, dealloc, adapterFunctions: [] };
  }
  return {
    load: {
      ...(wasi === undefined ? {} : { wasi }),
      init,
      ...(adapter === undefined ? {} : { adapter }),
      calls,
    },
    functions,
    alloc,
    dealloc,
    adapterFunctions: adapterNames,
  };
}
