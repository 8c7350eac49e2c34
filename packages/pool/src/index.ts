export { WasmPool } from './pool';
export { ERROR_CODES, WasmPoolError, isErrorCode, type ErrorCode } from './errors';
export { resolveOptions, type ResolvedOptions } from './options';
export type * from './types';
