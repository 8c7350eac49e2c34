import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { bindPoolMetrics } from '@wasmpool/metrics';
import { FakePool } from './helpers/fake-pool';

/** The metric names and types in the main README's metrics table (rows of the form | `name` | type | ...). */
function readmeMetrics(): Map<string, string> {
  const readme = readFileSync(join(__dirname, '..', '..', '..', 'README.md'), 'utf8');
  const rows = new Map<string, string>();
  for (const match of readme.matchAll(/^\| `(wasmpool_[a-z_]+)`\s*\|\s*(\w+)\s*\|/gm)) {
    rows.set(match[1]!, match[2]!);
  }
  return rows;
}

describe('the main README', () => {
  test('lists every metric the exporter registers, with its type, and nothing else', async () => {
    const metrics = bindPoolMetrics(new FakePool());
    const registered = new Map(
      (await metrics.registry.getMetricsAsJSON()).map((m) => [m.name, String(m.type)] as const),
    );
    metrics.close();
    expect(registered.size).toBeGreaterThanOrEqual(10);
    expect([...readmeMetrics()].sort()).toEqual([...registered].sort());
  });
});
