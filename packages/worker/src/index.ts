// eslint-disable-next-line @typescript-eslint/triple-slash-reference -- a global declaration file, kept in the emitted .d.ts
/// <reference path="../webassembly.d.ts" preserve="true" />
// ^ @types/node does not declare the WebAssembly API: the package ships it, for its own declarations.
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
  type ToWorker,
  type UnloadMessage,
  type ValueType,
  type WorkerInit,
} from './protocol';
export type { CreateHostImports, HostImportContext } from './module-runtime';

/** Absolute path of the script a pool starts in each worker thread. */
export const workerScriptPath: string = require.resolve('@wasmpool/worker/thread');
