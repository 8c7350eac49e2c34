import type EventEmitter from 'eventemitter3';
import { errorText } from '../errors';
import type { PoolEvents } from '../types';

export type PoolEmitter = EventEmitter<PoolEvents>;

/**
 * Emits a pool event so that a listener that throws cannot break the pool: the task that was being
 * settled is settled all the same, and the listener's exception surfaces as the pool's `error`
 * event (an `error` listener that throws in turn is ignored).
 */
export function safeEmit<E extends keyof PoolEvents>(
  emitter: PoolEmitter,
  event: E,
  ...args: Parameters<PoolEvents[E]>
): void {
  try {
    (emitter.emit as (event: E, ...args: Parameters<PoolEvents[E]>) => boolean)(event, ...args);
  } catch (error) {
    if (event === 'error') return;
    try {
      emitter.emit(
        'error',
        new Error(`a '${String(event)}' listener threw: ${errorText(error)}`, {
          cause: error,
        }),
      );
    } catch {
      // An 'error' listener that throws is ignored.
    }
  }
}
