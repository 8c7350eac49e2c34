import { Presets, SingleBar } from 'cli-progress';

/** Progress of a batch on stderr: a bar when the input's size is known, a counter otherwise. */
export class BatchProgress {
  private readonly bar: SingleBar;
  private readonly startedAt = performance.now();
  private lastUpdate = 0;

  constructor(
    private readonly totalBytes: number | undefined,
    private readonly bytesRead: () => number,
  ) {
    const format =
      totalBytes === undefined
        ? '{tasks} tasks, {failed} failed, {rate} tasks/s'
        : '[{bar}] {percentage}% of the input | {tasks} tasks, {failed} failed, {rate} tasks/s | ETA {eta_formatted}';
    this.bar = new SingleBar(
      {
        format,
        stream: process.stderr,
        hideCursor: true,
        clearOnComplete: false,
        etaBuffer: 50,
        // shown when stderr is a terminal, or when asked for with --progress (then on any stderr)
        noTTYOutput: true,
        notTTYSchedule: 1000,
      },
      Presets.shades_classic,
    );
    this.bar.start(totalBytes ?? 0, 0, { tasks: 0, failed: 0, rate: 0 });
  }

  /** Cheap enough to call on every result: it redraws at most ten times a second. */
  update(tasks: number, failed: number): void {
    const now = performance.now();
    if (now - this.lastUpdate < 100) return;
    this.lastUpdate = now;
    this.render(tasks, failed, now);
  }

  stop(tasks: number, failed: number): void {
    this.render(tasks, failed, performance.now());
    this.bar.stop();
  }

  private render(tasks: number, failed: number, now: number): void {
    const seconds = (now - this.startedAt) / 1000;
    const payload = {
      tasks: tasks.toLocaleString('en-US'),
      failed: failed.toLocaleString('en-US'),
      rate: seconds > 0 ? Math.round(tasks / seconds).toLocaleString('en-US') : '0',
    };
    const value = this.totalBytes === undefined ? 0 : Math.min(this.bytesRead(), this.totalBytes);
    this.bar.update(value, payload);
  }
}
