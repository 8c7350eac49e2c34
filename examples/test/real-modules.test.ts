import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

describe('the real-modules example', () => {
  test('runs each kind and gets the reference answers', async () => {
    const { stdout, stderr } = await run(process.execPath, [
      join(__dirname, '..', 'dist', 'real-modules.js'),
    ]);
    expect(stdout).toContain('wasi wc: exit 0, stdout "2 3 14\\n"');
    expect(stdout).toContain('wasi virtual file: "hello from a virtual file\\n"');
    expect(stdout).toMatch(/wasi \/etc\/passwd: exit 2, error: /);
    expect(stdout).toContain('wasi exit: 3, stderr "exiting 3\\n"');
    expect(stdout).toMatch(/reactor crc32: ([0-9a-f]+) \(zlib: \1\)/);
    expect(stdout).toContain('rust: to_hex 7761736d, reverse_text olléh');
    expect(stdout).toContain('assemblyscript: Hello, wörld!');
    expect(stdout).toContain('xxhash-wasm h32(abc): 32d153ff');
    expect(stdout).toMatch(/hash-wasm sha256\(abc\): ([0-9a-f]{64}) \(node:crypto: \1\)/);
    expect(stdout).toContain('adapter functions: h32, h64, sha256');
    expect(stdout).toContain('bad stdin: INVALID_PARAMS');
    expect(stderr).toBe('');
  });
});
