/**
 * Text of anything user code threw, whatever it is: an object without a prototype (no toString), one
 * whose toString or message getter throws, a symbol. Reading it must never throw in turn: the
 * message is made where a task's failure is reported.
 */
export function thrownText(value: unknown): string {
  try {
    if (value instanceof Error) return String(value.message);
    return String(value);
  } catch {
    try {
      return Object.prototype.toString.call(value);
    } catch {
      return 'an unprintable value';
    }
  }
}
