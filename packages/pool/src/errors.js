"use strict";
Object.defineProperty(exports, "__esModule", { value: true });
exports.WasmPoolError = exports.ERROR_CODES = void 0;
exports.isErrorCode = isErrorCode;
const worker_1 = require("@wasmpool/worker");
Object.defineProperty(exports, "ERROR_CODES", { enumerable: true, get: function () { return worker_1.ERROR_CODES; } });
/** The error thrown or rejected by every wasmpool API. */
class WasmPoolError extends Error {
    name = 'WasmPoolError';
    /** Stable, machine-readable reason. */
    code;
    /** The id of the task that failed, when the error belongs to a task. */
    taskId;
    constructor(code, message, options) {
        super(message, options?.cause === undefined ? undefined : { cause: options.cause });
        this.code = code;
        this.taskId = options?.taskId;
    }
    /** True when `value` is a WasmPoolError, optionally with the given code. */
    static is(value, code) {
        return value instanceof WasmPoolError && (code === undefined || value.code === code);
    }
}
exports.WasmPoolError = WasmPoolError;
function isErrorCode(value) {
    return typeof value === 'string' && worker_1.ERROR_CODES.includes(value);
}
//# sourceMappingURL=errors.js.map