import type { TaskBlock } from './task-block';

/** A run of tasks of one block: indices [start, end), or `indices[start..end)` when given. */
export interface Slice {
  block: TaskBlock;
  indices: Int32Array | null;
  start: number;
  end: number;
}

/**
 * First-in first-out queue of task slices. Tasks that leave early (aborted while waiting) stay in
 * their slice, marked settled, and are skipped when they reach the front.
 */
export class SliceQueue {
  private items: Slice[] = [];
  private head = 0;

  get empty(): boolean {
    return this.head === this.items.length;
  }

  push(slice: Slice): void {
    if (slice.end > slice.start) this.items.push(slice);
  }

  /** Adds a slice that its owner still extends (its `end` grows). */
  pushOpen(slice: Slice): void {
    this.items.push(slice);
  }

  /** Puts tasks back at the front (tasks taken back from a worker that ended). */
  unshift(slice: Slice): void {
    if (slice.end <= slice.start) return;
    if (this.head > 0) this.items[--this.head] = slice;
    else this.items.unshift(slice);
  }

  peek(): Slice | undefined {
    return this.items[this.head];
  }

  /** Drops the front slice once it is used up. */
  shift(): void {
    this.items[this.head++] = undefined as unknown as Slice;
    if (this.head === this.items.length) {
      this.items = [];
      this.head = 0;
    } else if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
  }

  /** Removes every slice, for destroy(). */
  drain(): Slice[] {
    const rest = this.items.slice(this.head);
    this.items = [];
    this.head = 0;
    return rest;
  }
}
