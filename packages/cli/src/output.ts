import { once } from 'node:events';
import type { Writable } from 'node:stream';

/**
 * Lines written to a stream in chunks of about 64 KiB, waiting for the stream to drain when it asks to:
 * a slow reader of the output slows the batch down instead of filling memory.
 */
export class LineWriter {
  private buffer = '';

  constructor(
    private readonly out: Writable,
    private readonly chunkChars = 64 * 1024,
  ) {}

  /** Adds a line; resolves at once unless a full chunk went out and the stream must drain first. */
  async write(line: string): Promise<void> {
    this.buffer += `${line}\n`;
    if (this.buffer.length >= this.chunkChars) await this.flush();
  }

  async flush(): Promise<void> {
    if (this.buffer.length === 0) return;
    const chunk = this.buffer;
    this.buffer = '';
    if (!this.out.write(chunk)) await once(this.out, 'drain');
  }

  /** Flushes and, for a file, closes it; resolves once everything reached the operating system. */
  async end(closeStream: boolean): Promise<void> {
    await this.flush();
    if (closeStream) {
      this.out.end();
      await once(this.out, 'finish');
    }
  }
}
