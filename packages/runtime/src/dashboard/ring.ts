// A fixed-size ring of the newest items: the dashboard's memory stays bounded however long the worker
// runs.

export interface Ring<T> {
  push(item: T): void;
  /** Oldest first. */
  items(): T[];
  readonly size: number;
}

export function createRing<T>(capacity: number): Ring<T> {
  if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`ring capacity ${capacity}`);
  const slots: T[] = [];
  let next = 0;
  return {
    push(item) {
      if (slots.length < capacity) slots.push(item);
      else slots[next] = item;
      next = (next + 1) % capacity;
    },
    items: () => (slots.length < capacity ? [...slots] : [...slots.slice(next), ...slots.slice(0, next)]),
    get size() {
      return slots.length;
    },
  };
}
