export { WasmPool } from './pool';
export { ERROR_CODES, WasmPoolError, isErrorCode, type ErrorCode } from './errors';
export type * from './types';
