/**
 * Reads the bytes of a compiled `WebAssembly.Module` back, in a throwaway worker thread.
 *
 * A compiled module hides its types, its memories and tables (unless exported) and their limits: the
 * JS API lists export and import kinds only, and `v8.serialize`/`structuredClone` carry no bytes
 * (within one process they pass a reference to the engine's module). Without its bytes such a module
 * could not be capped. V8's inspector still has them: every module in an isolate is a "script" whose
 * `Debugger.getScriptSource` returns the wire bytes. This worker receives the module as `workerData`
 * (so it is the only module in the worker's isolate), asks its own inspector for them, and replies.
 * The module is never instantiated: none of its code runs.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { thrownText } from './thrown';

/** The reply: the module's bytes, or why they could not be read. */
export type WireBytesReply = { bytes: Uint8Array } | { error: string };

interface ScriptParsed {
  scriptId: string;
  url: string;
  scriptLanguage?: string;
}

function reply(message: WireBytesReply): void {
  const transfer = 'bytes' in message ? [message.bytes.buffer as ArrayBuffer] : [];
  parentPort!.postMessage(message, transfer);
}

async function read(module: unknown): Promise<Uint8Array> {
  if (!(module instanceof WebAssembly.Module)) throw new Error('not a WebAssembly.Module');
  // Loaded here, not at the top: a Node built without the inspector throws, and that is a reply.
  const { Session } = await import('node:inspector');
  const session = new Session();
  session.connect();
  const post = <T>(method: string, params?: object): Promise<T> =>
    new Promise((resolve, reject) =>
      session.post(method, params, (error: Error | null, result?: unknown) =>
        error ? reject(error) : resolve(result as T),
      ),
    );
  const scripts: ScriptParsed[] = [];
  session.on('Debugger.scriptParsed', (message: { params: ScriptParsed }) => {
    const { params } = message;
    if (params.scriptLanguage === 'WebAssembly' || params.url.startsWith('wasm://')) scripts.push(params);
  });
  try {
    await post('Debugger.enable');
    if (scripts.length !== 1) throw new Error(`the inspector reports ${scripts.length} wasm modules, not 1`);
    const source = await post<{ bytecode?: string }>('Debugger.getScriptSource', {
      scriptId: scripts[0]!.scriptId,
    });
    if (typeof source.bytecode !== 'string') throw new Error('the inspector gives no bytecode');
    const bytes = Buffer.from(source.bytecode, 'base64');
    // An ArrayBuffer of its own, to transfer.
    return new Uint8Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
  } finally {
    session.disconnect();
  }
}

if (parentPort !== null) {
  read(workerData).then(
    (bytes) => reply({ bytes }),
    (error: unknown) => reply({ error: thrownText(error) }),
  );
}
