import { once } from 'node:events';
import type { Writable } from 'node:stream';

/**
 * Lines written to a stream in chunks of about 64 KiB, waiting for the stream to drain when it asks to:
 * a slow reader of the output slows the batch down instead of filling memory. Lines never wait in the
 * buffer for more than `maxDelayMs`, so results of a slow input (a pipe fed now and then) come out as
 * they are made.
 */
export class LineWriter {
  private buffer = '';
  private timer: NodeJS.Timeout | undefined;
  /** Set when the stream failed (EPIPE, a full disk): process.stdout is then neither destroyed nor errored. */
  private failed = false;
  private readonly gone: Promise<void>;

  constructor(
    private readonly out: Writable,
    private readonly chunkChars = 64 * 1024,
    private readonly maxDelayMs = 20,
  ) {
    this.gone = new Promise((resolve) => {
      out.once('error', () => {
        this.failed = true;
        resolve();
      });
      out.once('close', resolve);
    });
  }

  /** Adds a line; resolves at once unless the stream must drain first. */
  async write(line: string): Promise<void> {
    this.buffer += `${line}\n`;
    if (this.buffer.length >= this.chunkChars) {
      this.push();
    } else {
      this.timer ??= setTimeout(() => this.push(), this.maxDelayMs);
    }
    await this.drained();
  }

  /** Flushes and, for a file, closes it; resolves once everything reached the operating system. */
  async end(closeStream: boolean): Promise<void> {
    this.push();
    await this.drained();
    if (closeStream && !this.failed && !this.out.destroyed) {
      this.out.end();
      await once(this.out, 'finish');
    }
  }

  /** Resolves when the stream takes more, or is gone (its error is its owner's to report). */
  private async drained(): Promise<void> {
    if (!this.out.writableNeedDrain || this.failed || this.out.destroyed) return;
    const done = new AbortController();
    await Promise.race([once(this.out, 'drain', { signal: done.signal }).catch(() => {}), this.gone]);
    done.abort();
  }

  /** Hands the buffer to the stream (which queues it when it is busy). */
  private push(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.buffer.length === 0 || this.failed || this.out.destroyed) return;
    this.out.write(this.buffer);
    this.buffer = '';
  }
}
