#!/usr/bin/env node
// Builds the WebAssembly binaries used by the examples, benchmarks and tests.
//
//   *.wat     in examples/modules/, packages/pool/test/fixtures/ and packages/cli/test/fixtures/
//                                                                  -> <dir>/build/<name>.wasm  (wabt)
//   *.as.ts   in the same folders                                    -> <dir>/build/<name>.wasm  (AssemblyScript,
//             -O3 --runtime incremental, plus the flags of a first line `// asc-flags: ...`, e.g. --exportRuntime)
//   packages/pool/test/fixtures/build/large.wasm: ~1 MiB module generated here (cold-start tests/benchmarks)
//
// Incremental: an output newer than its source and than this script is left alone. Prints one line per
// file it builds; exits 1 with the compiler's message when anything fails.

import { mkdir, readdir, readFile, rename, stat, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const SELF = fileURLToPath(import.meta.url);
const ROOT = path.resolve(path.dirname(SELF), '..');
const SOURCE_DIRS = ['examples/modules', 'packages/pool/test/fixtures', 'packages/cli/test/fixtures'];
const LARGE_OUT = 'packages/pool/test/fixtures/build/large.wasm';

const WABT_FEATURES = {
  multi_value: true,
  bulk_memory: true,
  mutable_globals: true,
  sign_extension: true,
  sat_float_to_int: true,
  // instrument-features.wat exercises every instruction family Node 20 accepts.
  simd: true,
  threads: true,
  exceptions: true,
  tail_call: true,
  reference_types: true,
};
const ASC_FLAGS = ['-O3', '--runtime', 'incremental'];

const rel = (p) => path.relative(ROOT, p).split(path.sep).join('/');

async function mtimeMs(file) {
  try {
    return (await stat(file)).mtimeMs;
  } catch (err) {
    if (err.code === 'ENOENT') return -1;
    throw err;
  }
}

/** True when `out` exists and is newer than every input. */
async function upToDate(out, inputs) {
  const outTime = await mtimeMs(out);
  if (outTime < 0) return false;
  for (const input of inputs) {
    if ((await mtimeMs(input)) >= outTime) return false;
  }
  return true;
}

/** Writes through a temporary file and a rename, so a concurrent build or reader never sees half a file. */
async function writeAtomic(file, bytes) {
  await mkdir(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.${Date.now()}.tmp`;
  try {
    await writeFile(tmp, bytes);
    await rename(tmp, file);
  } catch (err) {
    await unlink(tmp).catch(() => {});
    throw err;
  }
}

let wabtPromise;
function getWabt() {
  wabtPromise ??= import('wabt').then((m) => m.default());
  return wabtPromise;
}

let ascPromise;
function getAsc() {
  ascPromise ??= import('assemblyscript/asc').then((m) => m.default);
  return ascPromise;
}

async function compileWat(src) {
  const wabt = await getWabt();
  const text = await readFile(src, 'utf8');
  let mod;
  try {
    mod = wabt.parseWat(rel(src), text, WABT_FEATURES);
    mod.resolveNames();
    mod.validate();
    return mod.toBinary({ log: false, write_debug_names: true }).buffer;
  } finally {
    mod?.destroy();
  }
}

async function compileAs(src) {
  const asc = await getAsc();
  const stdout = asc.createMemoryStream();
  const stderr = asc.createMemoryStream();
  let binary = null;
  const outName = `${path.basename(src, '.as.ts')}.wasm`;
  const extraFlags =
    /^\/\/ asc-flags:(.*)/
      .exec(await readFile(src, 'utf8'))?.[1]
      ?.trim()
      .split(/\s+/) ?? [];
  const { error } = await asc.main([rel(src), ...ASC_FLAGS, ...extraFlags, '--outFile', outName], {
    stdout,
    stderr,
    readFile: async (filename, baseDir) => {
      try {
        return await readFile(path.resolve(ROOT, baseDir, filename), 'utf8');
      } catch {
        return null;
      }
    },
    writeFile: (filename, contents) => {
      if (filename === outName) binary = contents;
    },
  });
  if (error || !binary) {
    const msg = stderr.toString().trim() || stdout.toString().trim();
    const reason = error ? error.message : 'no binary emitted';
    throw new Error(msg.includes(reason) ? msg : `${msg}${msg ? '\n' : ''}${reason}`);
  }
  return binary;
}

// ---------------------------------------------------------------------------------------------------------
// large.wasm: type/function/memory/export/code/data sections written directly.
//   memory (exported): 17 pages min, no maximum;  add(i32, i32) -> i32;
//   checksum() -> i32: sum of the 1 MiB data bytes (unsigned, wrapping);
//   one active data segment of 1 MiB of xorshift32 bytes at offset 1024.

const LARGE_DATA_OFFSET = 1024;
const LARGE_DATA_SIZE = 1 << 20;

function uleb(n) {
  const out = [];
  do {
    let byte = n & 0x7f;
    n = Math.floor(n / 128);
    if (n !== 0) byte |= 0x80;
    out.push(byte);
  } while (n !== 0);
  return out;
}

function sleb(n) {
  const out = [];
  for (;;) {
    const byte = n & 0x7f;
    n >>= 7;
    if ((n === 0 && (byte & 0x40) === 0) || (n === -1 && (byte & 0x40) !== 0)) {
      out.push(byte);
      return out;
    }
    out.push(byte | 0x80);
  }
}

const name = (s) => [...uleb(Buffer.byteLength(s)), ...Buffer.from(s)];
const vec = (items) => [...uleb(items.length), ...items.flat()];
const section = (id, body) => [id, ...uleb(body.length), ...body];

function buildLarge() {
  const I32 = 0x7f;
  const types = section(
    1,
    vec([
      [0x60, ...vec([I32, I32]), ...vec([I32])],
      [0x60, 0, ...vec([I32])],
    ]),
  );
  const funcs = section(3, vec([[0], [1]]));
  const pages = Math.ceil((LARGE_DATA_OFFSET + LARGE_DATA_SIZE) / 65536);
  const memory = section(5, vec([[0x00, ...uleb(pages)]]));
  const exports = section(
    7,
    vec([
      [...name('memory'), 0x02, 0],
      [...name('add'), 0x00, 0],
      [...name('checksum'), 0x00, 1],
    ]),
  );
  const addBody = [0, 0x20, 0, 0x20, 1, 0x6a, 0x0b];
  // locals: 2 x i32 ($i = 0, $acc = 1)
  const checksumBody = [
    ...vec([[2, I32]]),
    ...[0x02, 0x40, 0x03, 0x40], // block, loop
    ...[0x20, 0, 0x41, ...sleb(LARGE_DATA_SIZE), 0x4f, 0x0d, 1], // br_if 1 (i >= size)
    ...[0x20, 1, 0x20, 0, 0x2d, 0, ...uleb(LARGE_DATA_OFFSET), 0x6a, 0x21, 1], // acc += load8_u offset
    ...[0x20, 0, 0x41, 1, 0x6a, 0x21, 0], // i += 1
    ...[0x0c, 0, 0x0b, 0x0b], // br 0, end loop, end block
    ...[0x20, 1, 0x0b],
  ];
  const code = section(
    10,
    vec([
      [...uleb(addBody.length), ...addBody],
      [...uleb(checksumBody.length), ...checksumBody],
    ]),
  );

  const data = Buffer.alloc(LARGE_DATA_SIZE);
  let x = 0x2545f491;
  for (let i = 0; i < LARGE_DATA_SIZE; i += 4) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    data.writeInt32LE(x | 0, i);
  }
  const segHeader = [0x00, 0x41, ...sleb(LARGE_DATA_OFFSET), 0x0b, ...uleb(LARGE_DATA_SIZE)];
  const dataSection = Buffer.concat([
    Buffer.from([11, ...uleb(1 + segHeader.length + LARGE_DATA_SIZE), 1, ...segHeader]),
    data,
  ]);
  const head = Buffer.from([
    0x00,
    0x61,
    0x73,
    0x6d,
    0x01,
    0x00,
    0x00,
    0x00,
    ...types,
    ...funcs,
    ...memory,
    ...exports,
    ...code,
  ]);
  const bytes = Buffer.concat([head, dataSection]);
  if (!WebAssembly.validate(bytes)) throw new Error('generated large.wasm does not validate');
  return bytes;
}

// ---------------------------------------------------------------------------------------------------------

async function listSources() {
  const jobs = [];
  for (const dir of SOURCE_DIRS) {
    const abs = path.join(ROOT, dir);
    let entries;
    try {
      entries = await readdir(abs, { withFileTypes: true });
    } catch (err) {
      if (err.code === 'ENOENT') continue;
      throw err;
    }
    for (const entry of entries.sort((a, b) => a.name.localeCompare(b.name))) {
      if (!entry.isFile()) continue;
      const src = path.join(abs, entry.name);
      if (entry.name.endsWith('.wat')) {
        jobs.push({
          src,
          out: path.join(abs, 'build', `${entry.name.slice(0, -4)}.wasm`),
          compile: compileWat,
        });
      } else if (entry.name.endsWith('.as.ts')) {
        jobs.push({
          src,
          out: path.join(abs, 'build', `${entry.name.slice(0, -6)}.wasm`),
          compile: compileAs,
        });
      }
    }
  }
  jobs.push({ src: null, out: path.join(ROOT, LARGE_OUT), compile: buildLarge });
  return jobs;
}

async function main() {
  const started = performance.now();
  let built = 0;
  let failed = 0;
  for (const job of await listSources()) {
    const inputs = job.src ? [job.src, SELF] : [SELF];
    if (await upToDate(job.out, inputs)) continue;
    const t0 = performance.now();
    try {
      const bytes = await job.compile(job.src);
      await writeAtomic(job.out, bytes);
      built++;
      const ms = Math.round(performance.now() - t0);
      console.log(`build-wasm: ${rel(job.out)} (${bytes.length} bytes, ${ms} ms)`);
    } catch (err) {
      failed++;
      console.error(`build-wasm: ${job.src ? rel(job.src) : rel(job.out)} failed:\n${err?.message ?? err}`);
    }
  }
  if (failed > 0) {
    console.error(`build-wasm: ${failed} file(s) failed`);
    process.exitCode = 1;
  } else if (built > 0) {
    console.log(`build-wasm: ${built} file(s) built in ${Math.round(performance.now() - started)} ms`);
  }
}

main().catch((err) => {
  console.error(`build-wasm: ${err?.stack ?? err}`);
  process.exitCode = 1;
});
