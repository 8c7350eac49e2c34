/**
 * Wraps a costly read so that every gauge of one scrape shares a single result.
 *
 * prom-client calls each metric's `collect()` synchronously, one after the other, when a scrape starts;
 * the first call reads, the others reuse that value, and the value is dropped at the next microtask so
 * that the following scrape reads afresh.
 */
export function perScrape<T>(read: () => T): () => T {
  let cached: { value: T } | undefined;
  const drop = (): void => {
    cached = undefined;
  };
  return () => {
    if (cached === undefined) {
      cached = { value: read() };
      queueMicrotask(drop);
    }
    return cached.value;
  };
}
