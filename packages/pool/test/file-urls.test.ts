import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { WasmPool } from '@wasmpool/pool';
import { fixture, hostImportsPath, rejectionOf, trackPools } from './helpers';

const track = trackPools();

describe('file: URLs wherever a path is accepted', () => {
  // A directory whose name needs percent-encoding in a URL: the URL must be decoded, not read as text.
  const dir = mkdtempSync(join(tmpdir(), 'wasmpool file urls '));
  const wasm = join(dir, 'host.wasm');
  const imports = join(dir, 'host imports.js');
  copyFileSync(fixture('host'), wasm);
  copyFileSync(hostImportsPath, imports);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  test('source and hostImports as file: URL strings and URL objects', async () => {
    const asString = pathToFileURL(imports).href;
    expect(asString).toContain('%20');
    const pool = track(
      await WasmPool.create({
        minWorkers: 1,
        modules: {
          a: { source: pathToFileURL(wasm).href, hostImports: asString },
          b: { source: pathToFileURL(wasm), hostImports: pathToFileURL(imports) },
        },
      }),
    );
    await expect(pool.run({ module: 'a', function: 'ok' })).resolves.toBe(7);
    await expect(pool.run({ module: 'b', function: 'ok' })).resolves.toBe(7);
  });

  test('a missing file is named by its path; a URL of another scheme is refused', async () => {
    const missing = await rejectionOf(
      WasmPool.create({
        minWorkers: 0,
        modules: { a: { source: wasm, hostImports: pathToFileURL(join(dir, 'none.js')).href } },
      }),
    );
    expect(missing.code).toBe('INVALID_CONFIG');
    expect(missing.message).toBe(`modules.a.hostImports: no file at ${join(dir, 'none.js')}`);

    const http = await rejectionOf(
      WasmPool.create({
        minWorkers: 0,
        modules: { a: { source: wasm, hostImports: new URL('https://example.com/imports.js') } },
      }),
    );
    expect(http.code).toBe('INVALID_CONFIG');
    expect(http.message).toMatch(/^modules\.a\.hostImports must be a file path or a file: URL/);

    const source = await rejectionOf(
      WasmPool.create({
        minWorkers: 0,
        modules: { a: { source: pathToFileURL(join(dir, 'no.wasm')).href } },
      }),
    );
    expect(source.code).toBe('INVALID_MODULE');
    expect(source.message).toContain(`cannot read ${join(dir, 'no.wasm')}`);
  });
});
