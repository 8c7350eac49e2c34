import type { ContenderName } from '../options';
import type { Contender } from './types';

/* eslint-disable @typescript-eslint/no-require-imports */
// Contenders are loaded on demand, so a run that leaves one out does not load (or need a build of) its library.
const LOADERS: Record<ContenderName, () => Contender> = {
  wasmpool: () => (require('./wasmpool') as typeof import('./wasmpool')).wasmpool,
  piscina: () => (require('./piscina') as typeof import('./piscina')).piscina,
  tinypool: () => (require('./tinypool') as typeof import('./tinypool')).tinypool,
  single: () => (require('./single') as typeof import('./single')).single,
};
/* eslint-enable @typescript-eslint/no-require-imports */

export function loadContender(name: ContenderName): Contender {
  return LOADERS[name]();
}

export type { Contender } from './types';
