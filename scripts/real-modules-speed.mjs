// Tasks/s of each kind of real module through the pool (2 workers, one runBatch() per run) against a
// direct call on the main thread (one instance, a plain loop), side by side, after `npm run build`.
// Every answer of both sides is checked against a reference.
//   node scripts/real-modules-speed.mjs [--tasks N] [--reps N] [--only KIND]
// --tasks defaults to 20,000 (WASI commands: a tenth of it, as each runs on a fresh instance), --reps to 3.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { crc32 } from 'node:zlib';
import { WASI, File, OpenFile, ConsoleStdout } from '@bjorn3/browser_wasi_shim';
import { WasmPool } from '@wasmpool/pool';
import thirdParty from '../examples/dist/third-party.js';

const { adaptersDir, hashWasmBinary, nativeWasmDir, xxhashWasmPath } = thirdParty;
const { values } = parseArgs({
  options: {
    tasks: { type: 'string', default: '20000' },
    reps: { type: 'string', default: '3' },
    only: { type: 'string' },
  },
});
const n = Number(values.tasks);
const reps = Number(values.reps);
if (!Number.isInteger(n) || n < 10 || !Number.isInteger(reps) || reps < 1)
  throw new Error('--tasks ≥ 10, --reps ≥ 1');

const file = (path) => readFileSync(path);
const asStrings = fileURLToPath(new URL('../examples/modules/build/strings.wasm', import.meta.url));
const input = new Uint8Array(1024).map((_, i) => (i * 31 + 7) & 0xff);
const text = 'the quick brown fox jumps over the lazy dog\n'.repeat(23); // ~1 KiB
const utf8 = new TextEncoder();
const decoder = new TextDecoder();
const adapter = async (name) => (await import(pathToFileURL(`${adaptersDir}/${name}`).href)).default;
const xxhash = await adapter('xxhash.mjs');
const sha = await adapter('hash-wasm-sha256.mjs');
const expectedSha = createHash('sha256').update(input).digest('hex');
const expectedCrc = crc32(input);
const expectedWc = `23 207 ${text.length}\n`;
const expectedFnv = BigInt.asIntN(
  64,
  input.reduce(
    (hash, byte) => ((hash ^ BigInt(byte)) * 0x100000001b3n) & 0xffffffffffffffffn,
    0xcbf29ce484222325n,
  ),
);
const expectedXx = (() => {
  const module = new WebAssembly.Module(file(xxhashWasmPath()));
  return xxhash.h32(new WebAssembly.Instance(module), input); // checked against the spec vectors in the tests
})();

/** A fresh-instance WASI run on the main thread, as a user of the shim would write it. */
function directCommand(module) {
  return () => {
    let out = '';
    const wasi = new WASI(
      ['tool', 'wc'],
      [],
      [
        new OpenFile(new File(utf8.encode(text))),
        new ConsoleStdout((b) => (out += decoder.decode(b))),
        new ConsoleStdout(() => {}),
      ],
      { debug: false },
    );
    const instance = new WebAssembly.Instance(module, { wasi_snapshot_preview1: wasi.wasiImport });
    if (wasi.start(instance) !== 0) throw new Error('exit code');
    return out;
  };
}

function withMemory(exports, alloc, free, fn) {
  return () => {
    const ptr = exports[alloc](input.length);
    new Uint8Array(exports.memory.buffer, ptr, input.length).set(input);
    const result = fn(ptr, input.length);
    exports[free](ptr, input.length);
    return result;
  };
}

const kinds = {
  'wasi command (wc, 1 KiB stdin)': {
    tasks: Math.max(10, Math.floor(n / 10)),
    spec: { source: `${nativeWasmDir}/wasi-tool.wasm`, wasi: { args: ['wc'] }, memoryLimitMb: 4 },
    task: { function: '_start', stdin: text },
    check: (out) => (typeof out === 'string' ? out : decoder.decode(out.stdout)) === expectedWc,
    direct: () => directCommand(new WebAssembly.Module(file(`${nativeWasmDir}/wasi-tool.wasm`))),
  },
  'wasi reactor (C crc32, 1 KiB)': {
    spec: {
      source: `${nativeWasmDir}/crc32-reactor.wasm`,
      wasi: true,
      abi: { alloc: 'malloc', dealloc: 'free' },
    },
    task: { function: 'crc32', params: [input] },
    check: (out) => out >>> 0 === expectedCrc,
    direct: () => {
      const wasi = new WASI([], [], [], { debug: false });
      const module = new WebAssembly.Module(file(`${nativeWasmDir}/crc32-reactor.wasm`));
      const instance = new WebAssembly.Instance(module, { wasi_snapshot_preview1: wasi.wasiImport });
      wasi.initialize(instance);
      return withMemory(instance.exports, 'malloc', 'free', instance.exports.crc32);
    },
  },
  'rust library (fnv1a64, 1 KiB)': {
    spec: { source: `${nativeWasmDir}/text-lib.wasm`, abi: { alloc: 'rs_alloc', dealloc: 'rs_free' } },
    task: { function: 'fnv1a64', params: [input] },
    check: (out) => out === expectedFnv,
    direct: () => {
      const { exports } = new WebAssembly.Instance(
        new WebAssembly.Module(file(`${nativeWasmDir}/text-lib.wasm`)),
      );
      return withMemory(exports, 'rs_alloc', 'rs_free', exports.fnv1a64);
    },
  },
  'assemblyscript strings (greet)': {
    spec: { source: asStrings, abi: 'assemblyscript' },
    task: { function: 'greet', params: ['wasmpool'], output: 'string' },
    check: (out) => out === 'Hello, wasmpool!',
    direct: () => {
      const imports = {
        env: {
          abort: () => {
            throw new Error('abort');
          },
        },
      };
      const { exports } = new WebAssembly.Instance(new WebAssembly.Module(file(asStrings)), imports);
      return () => {
        const name = 'wasmpool';
        const ptr = exports.__pin(exports.__new(name.length * 2, 2));
        const units = new Uint16Array(exports.memory.buffer, ptr, name.length);
        for (let i = 0; i < name.length; i++) units[i] = name.charCodeAt(i);
        const out = exports.greet(ptr) >>> 0;
        const size = new Uint32Array(exports.memory.buffer, out - 4, 1)[0];
        const result = String.fromCharCode(...new Uint16Array(exports.memory.buffer, out, size / 2));
        exports.__unpin(ptr);
        return result;
      };
    },
  },
  'adapter: xxhash-wasm h32 (1 KiB)': {
    spec: { source: xxhashWasmPath(), adapter: `${adaptersDir}/xxhash.mjs` },
    task: { function: 'h32', params: [input] },
    check: (out) => out === expectedXx,
    direct: () => {
      const instance = new WebAssembly.Instance(new WebAssembly.Module(file(xxhashWasmPath())));
      return () => xxhash.h32(instance, input);
    },
  },
  'adapter: hash-wasm sha256 (1 KiB)': {
    spec: { source: hashWasmBinary('sha256'), adapter: `${adaptersDir}/hash-wasm-sha256.mjs` },
    task: { function: 'sha256', params: [input] },
    check: (out) => Buffer.from(out).toString('hex') === expectedSha,
    direct: () => {
      const instance = new WebAssembly.Instance(new WebAssembly.Module(hashWasmBinary('sha256')));
      return () => sha.sha256(instance, input);
    },
  },
};

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const fmt = (rate) => Math.round(rate).toLocaleString('en-US').padStart(10);
console.log(
  `${'kind'.padEnd(36)} ${'tasks'.padStart(7)} ${'pool/s'.padStart(10)} ${'direct/s'.padStart(10)}  (median of ${reps}, 2 workers)`,
);
for (const [name, kind] of Object.entries(kinds)) {
  if (values.only !== undefined && !name.includes(values.only)) continue;
  const count = kind.tasks ?? n;
  const pool = await WasmPool.create({
    modules: { m: kind.spec },
    minWorkers: 2,
    maxWorkers: 2,
    maxQueue: Math.max(count, 1000),
  });
  const tasks = Array.from({ length: count }, () => ({ module: 'm', ...kind.task }));
  const call = kind.direct();
  const poolRates = [];
  const directRates = [];
  for (let r = 0; r < reps; r++) {
    let start = performance.now();
    const results = await pool.runBatch(tasks);
    poolRates.push(count / ((performance.now() - start) / 1000));
    for (const result of results)
      if (!result.success || !kind.check(result.output))
        throw new Error(`${name}: ${result.error?.message ?? String(result.output)}`);
    start = performance.now();
    for (let i = 0; i < count; i++) if (!kind.check(call())) throw new Error(`${name}: wrong direct answer`);
    directRates.push(count / ((performance.now() - start) / 1000));
  }
  console.log(
    `${name.padEnd(36)} ${String(count).padStart(7)} ${fmt(median(poolRates))} ${fmt(median(directRates))}`,
  );
  await pool.close();
}
