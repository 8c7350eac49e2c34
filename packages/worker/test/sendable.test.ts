// The worker's last guard against a result the wire cannot carry (issue 12, point 3): values made by
// a real instance of packages/pool/test/fixtures/unsendable.wat.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { sendableResult } from '../src/sendable';
import { TaskFault } from '../src/abi';

const wasm = join(__dirname, '..', '..', 'pool', 'test', 'fixtures', 'build', 'unsendable.wasm');
const fns = new WebAssembly.Instance(new WebAssembly.Module(readFileSync(wasm))).exports as Record<
  string,
  () => unknown
>;

function faultOf(value: unknown): TaskFault {
  try {
    sendableResult(value);
  } catch (error) {
    if (error instanceof TaskFault) return error;
    throw error;
  }
  throw new Error('expected INVALID_OUTPUT');
}

test('numbers, bigints, nothing and arrays of numbers pass unchanged', () => {
  expect(sendableResult(fns.ok!())).toBe(7);
  expect(sendableResult(5n)).toBe(5n);
  expect(sendableResult(undefined)).toBeUndefined();
  const pair = [1, 2n];
  expect(sendableResult(pair)).toBe(pair);
});

test('a funcref, in a multi-value result or alone, is INVALID_OUTPUT', () => {
  const pair = fns.pair!() as unknown[];
  expect(typeof pair[0]).toBe('function');
  const fault = faultOf(pair);
  expect(fault.code).toBe('INVALID_OUTPUT');
  expect(fault.message).toMatch(/function \(funcref\).*cannot be sent back/);
  expect(faultOf(pair[0]).code).toBe('INVALID_OUTPUT');
});

test('an externref (null or an object) is INVALID_OUTPUT; a v128 cannot even reach JavaScript', () => {
  expect(faultOf(fns.ext!()).message).toMatch(/null reference/);
  expect(faultOf({}).message).toMatch(/object \(externref/);
  expect(() => fns.vec!()).toThrow(TypeError);
});
