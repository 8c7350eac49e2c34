/**
 * Real modules, as shipped: one runnable example of each kind (README "Real modules").
 *
 *   node examples/dist/real-modules.js
 */
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { WasmPool, WasmPoolError, type CommandResult } from '@wasmpool/pool';
import { adaptersDir, hashWasmBinary, nativeWasmDir, xxhashWasmPath } from './third-party';

const modulesDir = join(__dirname, '..', 'modules', 'build');
const text = (bytes: Uint8Array): string => new TextDecoder().decode(bytes);

async function main(): Promise<void> {
  const pool = await WasmPool.create({
    minWorkers: 2,
    maxWorkers: 2,
    modules: {
      // A WASI command (C + wasi-libc). WASI is denied by default; this grants one read-only file.
      tool: {
        source: join(nativeWasmDir, 'wasi-tool.wasm'),
        wasi: { files: { 'data/hello.txt': 'hello from a virtual file\n' }, maxOutputBytes: 64 * 1024 },
        memoryLimitMb: 8,
      },
      // A WASI reactor (C): the pool calls _initialize, which runs its constructor (the CRC table).
      crc: {
        source: join(nativeWasmDir, 'crc32-reactor.wasm'),
        wasi: true,
        abi: { alloc: 'malloc', dealloc: 'free' },
      },
      // A Rust wasm32-unknown-unknown library with its own allocator names.
      rust: { source: join(nativeWasmDir, 'text-lib.wasm'), abi: { alloc: 'rs_alloc', dealloc: 'rs_free' } },
      // An AssemblyScript library (built with --exportRuntime): managed strings in and out.
      strings: { source: join(modulesDir, 'strings.wasm'), abi: 'assemblyscript' },
      // Two npm packages' binaries, unchanged, driven by adapters (examples/adapters/).
      xxhash: { source: xxhashWasmPath(), adapter: join(adaptersDir, 'xxhash.mjs') },
      sha256: { source: hashWasmBinary('sha256'), adapter: join(adaptersDir, 'hash-wasm-sha256.mjs') },
    },
  });

  const wc = await pool.run<CommandResult>({
    module: 'tool',
    function: '_start',
    args: ['wc'],
    stdin: 'one two\nthree\n',
  });
  console.log(`wasi wc: exit ${wc.exitCode}, stdout ${JSON.stringify(text(wc.stdout))}`);
  const file = await pool.run<CommandResult>({
    module: 'tool',
    function: '_start',
    args: ['open', '/data/hello.txt'],
  });
  console.log(`wasi virtual file: ${JSON.stringify(text(file.stdout))}`);
  const passwd = await pool.run<CommandResult>({
    module: 'tool',
    function: '_start',
    args: ['open', '/etc/passwd'],
  });
  console.log(`wasi /etc/passwd: exit ${passwd.exitCode}, ${text(passwd.stdout).trim()}`);
  const exit = await pool.run<CommandResult>({ module: 'tool', function: '_start', args: ['exit', '3'] });
  console.log(`wasi exit: ${exit.exitCode}, stderr ${JSON.stringify(text(exit.stderr))}`);

  const data = new TextEncoder().encode('The quick brown fox');
  const crc = (await pool.run<number>({ module: 'crc', function: 'crc32', params: [data] })) >>> 0;
  console.log(`reactor crc32: ${crc.toString(16)} (zlib: ${crc32(data).toString(16)})`);

  const hex = await pool.run<string>({
    module: 'rust',
    function: 'to_hex',
    params: ['wasm'],
    output: 'string',
  });
  const reversed = await pool.run<string>({
    module: 'rust',
    function: 'reverse_text',
    params: ['héllo'],
    output: 'string',
  });
  console.log(`rust: to_hex ${hex}, reverse_text ${reversed}`);

  const greeting = await pool.run<string>({
    module: 'strings',
    function: 'greet',
    params: ['wörld'],
    output: 'string',
  });
  console.log(`assemblyscript: ${greeting}`);

  const h32 = await pool.run<number>({ module: 'xxhash', function: 'h32', params: ['abc'] });
  const digest = await pool.run<Uint8Array>({ module: 'sha256', function: 'sha256', params: ['abc'] });
  const reference = createHash('sha256').update('abc').digest('hex');
  console.log(`xxhash-wasm h32(abc): ${h32.toString(16)}`);
  console.log(`hash-wasm sha256(abc): ${Buffer.from(digest).toString('hex')} (node:crypto: ${reference})`);
  console.log(
    `adapter functions: ${pool
      .modules()
      .flatMap((m) => m.adapterFunctions ?? [])
      .join(', ')}`,
  );

  try {
    await pool.run({ module: 'tool', function: '_start', args: ['wc'], stdin: 42 as unknown as string });
  } catch (error) {
    if (error instanceof WasmPoolError) console.log(`bad stdin: ${error.code}`);
  }
  await pool.close();
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
