#!/usr/bin/env node
// The packages as a user gets them: `npm pack` of every published package, installed from the tarballs
// into an empty project in a temporary directory (the npm registry must be reachable for their
// dependencies), then:
//   - each tarball has its LICENSE, and every source map in it points at sources that are in it too;
//   - a task runs through require() and through import, and the ESM entries export the same names as
//     the CommonJS ones (no `__esModule`, nothing else);
//   - the `wasmpool` command of @wasmpool/cli runs a task;
//   - a TypeScript consumer file type-checks (strict, skipLibCheck off) against the declarations.
//
//   node scripts/pack-smoke.mjs [--keep]     (after `npm run build`; --keep leaves the directory)
//
// Prints one line per check; exits 1 at the first failure.

import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const PACKAGES = ['worker', 'pool', 'metrics', 'cli'];
const keep = process.argv.includes('--keep');
const dir = mkdtempSync(path.join(tmpdir(), 'wasmpool-pack-'));
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';

function sh(command, args, cwd) {
  return execFileSync(command, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

function check(what, ok, detail = '') {
  if (!ok) throw new Error(`${what}${detail ? `: ${detail}` : ''}`);
  console.log(`pack-smoke: ok  ${what}`);
}

try {
  // 1. Pack
  const packed = JSON.parse(
    sh(
      npm,
      ['pack', '--json', '--pack-destination', dir, ...PACKAGES.flatMap((p) => ['-w', `packages/${p}`])],
      ROOT,
    ),
  );
  const tarballs = packed.map((p) => path.join(dir, p.filename));
  for (const p of packed) {
    const files = new Set(p.files.map((f) => f.path));
    check(`${p.name}: LICENSE in the tarball`, files.has('LICENSE'));
    const license = JSON.parse(
      readFileSync(path.join(ROOT, 'packages', p.name.split('/')[1], 'package.json'), 'utf8'),
    ).license;
    const text = readFileSync(path.join(ROOT, 'packages', p.name.split('/')[1], 'LICENSE'), 'utf8');
    check(
      `${p.name}: LICENSE matches "license": ${license}`,
      license === 'MIT' && text.startsWith('MIT License'),
    );
    const missing = [];
    for (const file of files) {
      if (!file.endsWith('.map')) continue;
      const map = JSON.parse(readFileSync(path.join(ROOT, 'packages', p.name.split('/')[1], file), 'utf8'));
      for (const source of map.sources) {
        const target = path.posix.normalize(
          path.posix.join(path.posix.dirname(file), map.sourceRoot ?? '', source),
        );
        if (!files.has(target)) missing.push(`${file} -> ${target}`);
      }
    }
    check(
      `${p.name}: every source map's sources are shipped`,
      missing.length === 0,
      missing.slice(0, 3).join(', '),
    );
  }

  // 2. Install into an empty project
  const app = path.join(dir, 'app');
  mkdirSync(app);
  writeFileSync(
    path.join(app, 'package.json'),
    JSON.stringify({ name: 'consumer', private: true, version: '1.0.0' }),
  );
  sh(npm, ['install', '--no-audit', '--no-fund', ...tarballs, 'typescript@~5.9', '@types/node@^20'], app);
  check('the tarballs install into an empty project', true);
  copyFileSync(path.join(ROOT, 'examples/modules/build/math.wasm'), path.join(app, 'math.wasm'));

  // 3. require() and import
  writeFileSync(
    path.join(app, 'task.cjs'),
    `const { WasmPool } = require('@wasmpool/pool');
const { bindPoolMetrics } = require('@wasmpool/metrics');
(async () => {
  const pool = await WasmPool.create({ minWorkers: 1, modules: { math: { source: __dirname + '/math.wasm' } } });
  const metrics = bindPoolMetrics(pool);
  const sum = await pool.run({ module: 'math', function: 'add64', params: [2n ** 40n, 1n] });
  metrics.close();
  await pool.close();
  console.log(String(sum));
})();
`,
  );
  check('require(): a task runs', sh('node', ['task.cjs'], app).trim() === '1099511627777');
  writeFileSync(
    path.join(app, 'task.mjs'),
    `import { createRequire } from 'node:module';
import { WasmPool } from '@wasmpool/pool';
const require = createRequire(import.meta.url);
const mismatched = [];
for (const name of ${JSON.stringify(PACKAGES.map((p) => `@wasmpool/${p}`))}) {
  const esm = Object.keys(await import(name)).sort();
  const cjs = Object.keys(require(name)).filter((k) => k !== '__esModule').sort();
  if (JSON.stringify(esm) !== JSON.stringify(cjs)) mismatched.push(name + ': ' + esm.join(',') + ' vs ' + cjs.join(','));
}
const pool = await WasmPool.create({ minWorkers: 1, modules: { math: { source: new URL('./math.wasm', import.meta.url) } } });
const sum = await pool.run({ module: 'math', function: 'add', params: [1, 2] });
await pool.close();
console.log(JSON.stringify({ sum, mismatched }));
`,
  );
  const esm = JSON.parse(sh('node', ['task.mjs'], app));
  check('import: a task runs', esm.sum === 3);
  check(
    'import: each ESM entry exports exactly the CommonJS names',
    esm.mismatched.length === 0,
    esm.mismatched.join('; '),
  );
  check(
    'no entry exports resolveOptions',
    !('resolveOptions' in (await import(path.join(app, 'node_modules/@wasmpool/pool/esm/index.mjs')))),
  );

  // 4. The command
  const run = sh(path.join(app, 'node_modules/.bin/wasmpool'), ['run', 'math.wasm', 'add', '40', '2'], app);
  check('the wasmpool command runs a task', run.trim() === '42', run);

  // 5. Types
  writeFileSync(
    path.join(app, 'consumer.ts'),
    `import { WasmPool, WasmPoolError, type WasmResult, type WasmTask, type PoolStats } from '@wasmpool/pool';
import { bindPoolMetrics, serveMetrics } from '@wasmpool/metrics';
import { decodeTask, encodeResult, EXIT } from '@wasmpool/cli';

export async function consume(): Promise<number> {
  const pool = await WasmPool.create({ modules: { math: { source: new URL('file:///math.wasm') } } });
  const task: WasmTask = decodeTask('{"module":"math","function":"add","params":[1,2]}', '1');
  const results: WasmResult[] = [];
  for await (const result of pool.stream([task], { ordered: true })) results.push(result);
  const stats: PoolStats = pool.stats();
  const metrics = bindPoolMetrics(pool);
  const server = await serveMetrics(metrics.registry, { port: 0 });
  await server.close();
  const error: unknown = undefined;
  if (error instanceof WasmPoolError) console.log(error.code);
  console.log(results.map(encodeResult), stats.completed);
  return EXIT.ok;
}
`,
  );
  writeFileSync(
    path.join(app, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: {
        target: 'ES2022',
        lib: ['ES2022'],
        module: 'node16',
        moduleResolution: 'node16',
        strict: true,
        noEmit: true,
        skipLibCheck: false,
        types: ['node'],
      },
      files: ['consumer.ts'],
    }),
  );
  let tscOut = '';
  try {
    sh(path.join(app, 'node_modules/.bin/tsc'), ['-p', '.'], app);
  } catch (error) {
    tscOut = `${error.stdout ?? ''}${error.stderr ?? ''}`;
  }
  check(
    'a TypeScript consumer type-checks (strict, skipLibCheck false, @types/node)',
    tscOut === '',
    `\n${tscOut}`,
  );
  console.log('pack-smoke: all checks passed');
} catch (error) {
  console.error(`pack-smoke: FAILED ${error.message}`);
  if (error.stderr) console.error(String(error.stderr));
  process.exitCode = 1;
} finally {
  if (keep) console.log(`pack-smoke: left ${dir}`);
  else rmSync(dir, { recursive: true, force: true });
}
