import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The absolute file path named by `location`: a path (relative to the working directory), a `file:`
 * URL string or a `URL` object. Other URL schemes throw a TypeError (the caller turns it into its own
 * WasmPoolError): a path must never be read as a string that merely starts with "file:".
 */
export function toFilePath(location: string | URL): string {
  if (location instanceof URL || /^file:/i.test(location)) return fileURLToPath(location);
  return resolve(location);
}
