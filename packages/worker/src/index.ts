// eslint-disable-next-line @typescript-eslint/triple-slash-reference -- a global declaration file, kept in the emitted .d.ts
/// <reference path="../webassembly.d.ts" preserve="true" />
// ^ @types/node does not declare the WebAssembly API: the package ships it, for its own declarations.
export {
  columnView,
  type ColumnLayout,
  type ColumnType,
  type ColumnsRequest,
  type RowFailure,
} from './columns';
export { DRIVER_MAX_PAGES } from './column-driver';
export { ownBytes } from './output-packer';
export { ERROR_CODES, codeOfStatus, statusOf, type ErrorCode } from './codes';
export { CHANNEL_BYTES, Channel, ResultSlot, RunSlot, type ResultArrays } from './codec';
export {
  OutputKind,
  Status,
  type FromWorker,
  type FunctionSignature,
  type ImportedMemoryPlan,
  type ImportedTablePlan,
  type InstantiatingMessage,
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
export { Instrumentation } from './meter';
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

/**
 * Absolute path of the script that reads a compiled module's bytes back (see `wire-bytes.ts`); it
 * runs in a throwaway worker, never instantiates the module, and replies `WireBytesReply`.
 */
export const wireBytesScriptPath: string = require.resolve('@wasmpool/worker/wire-bytes');
export type { WireBytesReply } from './wire-bytes';
