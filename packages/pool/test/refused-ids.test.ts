import { WasmPool, type WasmResult } from '@wasmpool/pool';
import { example, trackPools } from './helpers';

const track = trackPools();

describe('a task refused at submission', () => {
  const tasks = [
    { id: 'ok', module: 'math', function: 'add', params: [1, 2] },
    { id: 'no-function', module: 'math', function: 'nope' },
    { id: 'too-few', module: 'math', function: 'add', params: [1] },
    { module: 'math', function: 'nope' }, // no id: known by its position
    { id: 'no-module', module: 'ghost', function: 'add' },
  ];
  const expected = [
    ['ok', true, undefined],
    ['no-function', false, 'FUNCTION_NOT_FOUND'],
    ['too-few', false, 'INVALID_PARAMS'],
    ['3', false, 'FUNCTION_NOT_FOUND'],
    ['no-module', false, 'MODULE_NOT_FOUND'],
  ];
  const summary = (results: WasmResult[]): unknown[] => results.map((r) => [r.id, r.success, r.error?.code]);

  test('keeps its own id in runBatch() and stream() results', async () => {
    const pool = track(
      await WasmPool.create({ minWorkers: 1, modules: { math: { source: example('math') } } }),
    );
    expect(summary(await pool.runBatch(tasks))).toEqual(expected);
    const streamed: WasmResult[] = [];
    for await (const result of pool.stream(tasks)) streamed.push(result);
    expect(summary(streamed)).toEqual(expected);
  });
});
