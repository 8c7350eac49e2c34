export { ERROR_CODES, codeOfStatus, statusOf, type ErrorCode } from './codes';
export {
  CHANNEL_BYTES,
  Channel,
  OutputKind,
  Status,
  resultSlotViews,
  runSlotViews,
  type FromWorker,
  type FunctionSignature,
  type ImportedMemoryPlan,
  type LoadErrorMessage,
  type LoadMessage,
  type ModuleLoad,
  type ReadyMessage,
  type ResultsMessage,
  type RunMessage,
  type TaskRef,
  type ToWorker,
  type UnloadMessage,
  type ValueType,
  type WorkerInit,
} from './protocol';
export type { CreateHostImports, HostImportContext } from './module-runtime';
export type { Adapter, AdapterFunction } from './adapter';
export { adapterFunctions } from './adapter';
export type {
  AdapterRequest,
  AssemblyScriptParam,
  AssemblyScriptRequest,
  CommandOutput,
  CommandRequest,
  RealCall,
  RealModuleLoad,
  RealRequest,
  WasiLoad,
} from './real-module';

/** Absolute path of the script a pool starts in each worker thread. */
export const workerScriptPath: string = require.resolve('@wasmpool/worker/thread');
