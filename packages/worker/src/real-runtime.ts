/**
 * The worker's side of real modules: the WASI session of each instance, init exports after every
 * instantiation, and the functions the pool does not call directly (WASI commands, adapter functions,
 * AssemblyScript exports), bound as "raw" functions that take the task's request as one argument.
 */
import { TaskFault, outOfMemoryMessage } from './abi';
import { loadAdapter, callAdapter, type Adapter } from './adapter';
import { assemblyScriptRuntime, callAssemblyScript } from './assemblyscript-abi';
import type { BoundFunction, ModuleRuntime } from './module-runtime';
import type {
  AdapterRequest,
  AssemblyScriptRequest,
  CommandOutput,
  CommandRequest,
  RealCall,
  RealModuleLoad,
} from './real-module';
import { WasiSession, loadWasiShim } from './wasi';

type Shim = Awaited<ReturnType<typeof loadWasiShim>>;
type WasmFunction = (...args: unknown[]) => unknown;

const RAW_SIGNATURE = { params: ['unknown' as const], results: ['unknown' as const] };

export class RealModuleRuntime {
  private constructor(
    private readonly load: RealModuleLoad,
    private readonly name: string,
    private readonly shim: Shim | undefined,
    private readonly adapter: Adapter | undefined,
  ) {}

  static async create(load: RealModuleLoad, name: string): Promise<RealModuleRuntime> {
    const shim = load.wasi === undefined ? undefined : await loadWasiShim();
    const adapter = load.adapter === undefined ? undefined : await loadAdapter(load.adapter);
    return new RealModuleRuntime(load, name, shim, adapter);
  }

  /** A WASI session for a new instance: a command's own, or a silent one for other instances. */
  session(request?: CommandRequest): WasiSession | undefined {
    if (this.load.wasi === undefined || this.shim === undefined) return undefined;
    return new WasiSession(this.shim, this.load.wasi, this.name, request);
  }

  /** Runs `_initialize` (when exported) and the `init` exports, in order. */
  initialize(instance: WebAssembly.Instance): void {
    for (const name of this.load.init) {
      const fn = instance.exports[name];
      if (typeof fn !== 'function') throw new Error(`init export ${name} is not a function`);
      (fn as WasmFunction)();
    }
  }

  /** Replaces the functions the pool does not call directly by raw functions taking the request. */
  bindCalls(runtime: ModuleRuntime): void {
    this.load.calls.forEach((call, index) => {
      if (call === null) return;
      const bound = runtime.functions[index];
      const name = runtime.functionName(index);
      runtime.functions[index] = {
        fn: this.rawFunction(runtime, call, name, bound?.fn),
        signature: RAW_SIGNATURE,
        i64Params: [false],
        hasI64Param: false,
        raw: true,
      } satisfies BoundFunction;
    });
  }

  private rawFunction(
    runtime: ModuleRuntime,
    call: RealCall,
    name: string,
    exported: WasmFunction | undefined,
  ): WasmFunction {
    switch (call.kind) {
      case 'command':
        return (request) => this.runCommand(runtime, request as CommandRequest);
      case 'adapter': {
        const fn = this.adapter?.[name];
        if (fn === undefined) throw new Error(`the adapter has no function ${name}`);
        return (request) => callAdapter(name, fn, runtime.instance!, (request as AdapterRequest).params);
      }
      case 'assemblyscript': {
        const asRuntime = assemblyScriptRuntime(runtime.instance!.exports);
        if (typeof asRuntime === 'string') throw new Error(`module '${this.name}': ${asRuntime}`);
        const memory = (): WebAssembly.Memory => {
          const current = runtime.memory;
          if (current === undefined) throw new TaskFault('INVALID_PARAMS', 'the module has no memory');
          return current;
        };
        return (request) =>
          callAssemblyScript(asRuntime, memory, exported!, request as AssemblyScriptRequest);
      }
    }
  }

  /** A WASI command on a fresh instance: its own stdin, args, env and captured output. */
  private runCommand(runtime: ModuleRuntime, request: CommandRequest): CommandOutput {
    const session = this.session(request)!;
    const { instance, memory } = runtime.newInstance(session);
    let exitCode: number;
    try {
      exitCode = session.start(instance.exports._start as WasmFunction);
    } catch (error) {
      if (memory !== undefined && error instanceof WebAssembly.RuntimeError) {
        const limit = runtime.maxPages * 65536;
        if (memory.buffer.byteLength >= limit - Math.max(65536, limit / 16)) {
          throw new TaskFault('OUT_OF_MEMORY', outOfMemoryMessage(runtime, `wasm trap: ${error.message}`));
        }
      }
      throw error;
    }
    const { stdout, stderr, truncated } = session.output();
    return truncated ? { exitCode, stdout, stderr, truncated } : { exitCode, stdout, stderr };
  }
}
