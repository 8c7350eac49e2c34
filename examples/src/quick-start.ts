/**
 * The README's library example, runnable: `node examples/dist/quick-start.js` (after `npm run build`).
 */
import { join } from 'node:path';
import { WasmPool, WasmPoolError } from '@wasmpool/pool';

const build = join(__dirname, '..', 'modules', 'build');

async function main(): Promise<void> {
  const pool = await WasmPool.create({
    modules: {
      math: { source: join(build, 'math.wasm') },
      sha256: { source: join(build, 'sha256.wasm'), memoryLimitMb: 16 },
    },
    minWorkers: 2,
    maxWorkers: 4,
  });

  const sum = await pool.run({ module: 'math', function: 'add', params: [1, 2] });
  const big = await pool.run({ module: 'math', function: 'add64', params: [2n ** 40n, 1n] });
  const digest = await pool.run<Uint8Array>({
    module: 'sha256',
    function: 'sha256',
    params: [new TextEncoder().encode('abc')],
    output: 'bytes',
  });
  console.log('add:', sum, 'add64:', big, 'sha256(abc):', Buffer.from(digest).toString('hex'));

  const tasks = Array.from({ length: 100_000 }, (_, i) => ({
    module: 'math',
    function: 'add',
    params: [i, 1],
  }));
  let reported = 0;
  const results = await pool.runBatch(tasks, { onProgress: (done) => (reported = done) });
  console.log(
    'batch:',
    results.length,
    'results, all ok:',
    results.every((r) => r.success),
    'progress:',
    reported,
  );

  try {
    await pool.run(
      { module: 'math', function: 'spin', params: [1e9] },
      { timeoutMs: 50, signal: AbortSignal.timeout(1000) },
    );
  } catch (error) {
    if (error instanceof WasmPoolError) console.log('spin:', error.code, '-', error.message);
  }

  pool.on('workerExit', (workerId, reason) => console.log(`worker ${workerId} ended: ${reason}`));
  console.log('completed:', pool.stats().completed, 'restarts:', pool.stats().workerRestarts);
  await pool.close();
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
