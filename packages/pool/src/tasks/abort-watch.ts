/**
 * One 'abort' listener per signal, however many run() calls, batches and streams wait on it. A
 * signal shared by many concurrent calls (a shutdown signal, say) would otherwise carry a listener
 * per call, and Node warns past ten (MaxListenersExceededWarning) though nothing leaks.
 */
interface Watch {
  readonly callbacks: Set<() => void>;
  readonly listener: () => void;
}

const watches = new WeakMap<AbortSignal, Watch>();

/** Calls `callback` once when `signal` aborts; returns its removal (idempotent). */
export function onAbort(signal: AbortSignal, callback: () => void): () => void {
  let watch = watches.get(signal);
  if (watch === undefined) {
    const callbacks = new Set<() => void>();
    const listener = (): void => {
      watches.delete(signal);
      // A copy: each callback settles tasks, whose settlement removes callbacks.
      const calls = [...callbacks];
      callbacks.clear();
      for (const call of calls) {
        try {
          call();
        } catch (error) {
          // As a listener of its own would: the others still run, the error surfaces.
          queueMicrotask(() => {
            throw error;
          });
        }
      }
    };
    watch = { callbacks, listener };
    watches.set(signal, watch);
    signal.addEventListener('abort', listener, { once: true });
  }
  const { callbacks, listener } = watch;
  callbacks.add(callback);
  return () => {
    if (!callbacks.delete(callback) || callbacks.size > 0) return;
    // The last one gone: the signal carries nothing of the pool's any more.
    if (watches.get(signal)?.callbacks === callbacks) watches.delete(signal);
    signal.removeEventListener('abort', listener);
  };
}
