/** The baseline: a plain loop on the main thread calling the same module's exports directly. */
import { performance } from 'node:perf_hooks';
import {
  instantiateFile,
  sha256Call,
  type LargeExports,
  type MathExports,
  type Sha256Exports,
} from '../wasm';
import { WasiCommand } from '../wasi-command';
import { addA, addB, WASI_PROGRAM, type Contender, type Running, type StartContext } from './types';

async function start(ctx: StartContext): Promise<Running> {
  const math = ctx.load.includes('math') ? instantiateFile<MathExports>(ctx.modules.math) : undefined;
  const sha = ctx.load.includes('sha256') ? instantiateFile<Sha256Exports>(ctx.modules.sha256) : undefined;
  const tool = ctx.load.includes('wasiTool')
    ? new WasiCommand(ctx.modules.wasiTool, WASI_PROGRAM)
    : undefined;
  const needMath = (): MathExports => {
    if (math === undefined) throw new Error('math is not loaded');
    return math;
  };
  const addLoop = (n: number, out: Int32Array): void => {
    const m = needMath();
    for (let i = 0; i < n; i++) out[i] = m.add(addA(i), addB(i));
  };
  return {
    async tinyRun(n, _inFlight, out) {
      addLoop(n, out);
    },
    async tinyBatch(n, _batchSize, _inFlight, out) {
      addLoop(n, out);
    },
    async cpu(n, iterations, _inFlight, out) {
      const m = needMath();
      for (let i = 0; i < n; i++) out[i] = m.spin(iterations);
    },
    async sha256(inputs, n, _inFlight, out) {
      if (sha === undefined) throw new Error('sha256 is not loaded');
      for (let i = 0; i < n; i++) out[i] = sha256Call(sha, inputs[i % inputs.length]);
    },
    async sha256Batch(inputs, n, _batchSize, _inFlight, out) {
      if (sha === undefined) throw new Error('sha256 is not loaded');
      for (let i = 0; i < n; i++) out[i] = sha256Call(sha, inputs[i % inputs.length]);
    },
    async columns(a, b) {
      const add = needMath().add;
      const out = new Int32Array(a.length);
      for (let i = 0; i < out.length; i++) out[i] = add(a[i], b[i]);
      return out;
    },
    async wasiWc(inputs, n, _inFlight, out) {
      if (tool === undefined) throw new Error('wasi-tool is not loaded');
      const args = ['wc'];
      for (let i = 0; i < n; i++) out[i] = tool.run(inputs[i % inputs.length], args);
    },
    async latency(n, timesUs, out) {
      const m = needMath();
      for (let i = 0; i < n; i++) {
        const t0 = performance.now();
        out[i] = m.add(addA(i), addB(i));
        timesUs[i] = (performance.now() - t0) * 1000;
      }
    },
    async close() {},
  };
}

export const single: Contender = {
  name: 'single',
  describe: () => ({
    thread: 'main',
    note: 'direct calls of the instantiated module, no pool',
    wasi: "@bjorn3/browser_wasi_shim (wasmpool's shim), a fresh instance per command",
  }),
  start,
  async coldStart(ctx) {
    const t0 = performance.now();
    const large = instantiateFile<LargeExports>(ctx.modules.large);
    const answer = large.add(1, 2);
    return { firstResultMs: performance.now() - t0, answer };
  },
};
