import type { FunctionSignature } from '@wasmpool/worker';

/** What can be learnt about an already compiled module, whose bytes (and so types) are hidden. */
export interface CompiledModuleFacts {
  /** Exported functions with their parameter count; types are 'unknown'. */
  functions: { name: string; signature: FunctionSignature }[];
  importedMemory?: { module: string; name: string; initial: number; maximum?: number };
  /** Pages of the module's own exported memory when instantiated, if it exports one. */
  definedMemoryPages?: number;
  importsAbort: boolean;
}

const SMALLER = /smaller than initial (\d+)/;
const DECLARED_MAX = /declared maximum (\d+)/;
const NO_MAX = /has no maximum limit/;

/**
 * Instantiates a compiled module once on the main thread, with inert stand-ins for its imports, to
 * read its exports' arities and its memories' limits (V8's link errors state an imported memory's
 * declared limits). Throws the engine's error when the module cannot be instantiated this way.
 */
export function inspectCompiledModule(module: WebAssembly.Module): CompiledModuleFacts {
  const imports = WebAssembly.Module.imports(module);
  const stubs: Record<string, Record<string, WebAssembly.ImportValue>> = {};
  let memoryImport: { module: string; name: string } | undefined;
  let importsAbort = false;
  for (const entry of imports) {
    stubs[entry.module] ??= {};
    if (entry.kind === 'function') {
      if (entry.module === 'env' && entry.name === 'abort') importsAbort = true;
      stubs[entry.module]![entry.name] = () => {
        throw new Error('import called while inspecting the module');
      };
    } else if (entry.kind === 'memory' && memoryImport === undefined) {
      memoryImport = { module: entry.module, name: entry.name };
    } else {
      throw new Error(
        `it imports a ${entry.kind} (${entry.module}.${entry.name}), which needs the module's bytes to type`,
      );
    }
  }

  let initial = 0;
  let maximum: number | undefined;
  let limited = false;
  for (let attempt = 0; ; attempt++) {
    if (memoryImport !== undefined) {
      const descriptor: WebAssembly.MemoryDescriptor = { initial };
      if (limited) descriptor.maximum = maximum ?? 65536;
      stubs[memoryImport.module]![memoryImport.name] = new WebAssembly.Memory(descriptor);
    }
    try {
      const instance = new WebAssembly.Instance(module, stubs);
      return describe(instance, module, importsAbort, memoryImport && { ...memoryImport, initial, maximum });
    } catch (error) {
      const message = (error as Error).message;
      const smaller = SMALLER.exec(message);
      const declared = DECLARED_MAX.exec(message);
      if (attempt > 4 || memoryImport === undefined || !(error instanceof WebAssembly.LinkError)) throw error;
      if (smaller) initial = Number(smaller[1]);
      else if (NO_MAX.test(message)) limited = true;
      else if (declared) maximum = Number(declared[1]);
      else throw error;
    }
  }
}

function describe(
  instance: WebAssembly.Instance,
  module: WebAssembly.Module,
  importsAbort: boolean,
  importedMemory: CompiledModuleFacts['importedMemory'],
): CompiledModuleFacts {
  const functions: CompiledModuleFacts['functions'] = [];
  let definedMemoryPages: number | undefined;
  for (const entry of WebAssembly.Module.exports(module)) {
    const value = instance.exports[entry.name];
    if (entry.kind === 'function' && typeof value === 'function') {
      functions.push({
        name: entry.name,
        signature: { params: new Array<'unknown'>(value.length).fill('unknown'), results: ['unknown'] },
      });
    } else if (
      entry.kind === 'memory' &&
      importedMemory === undefined &&
      value instanceof WebAssembly.Memory
    ) {
      definedMemoryPages = value.buffer.byteLength / 65536;
    }
  }
  return {
    functions,
    importsAbort,
    ...(importedMemory === undefined ? {} : { importedMemory }),
    ...(definedMemoryPages === undefined ? {} : { definedMemoryPages }),
  };
}
