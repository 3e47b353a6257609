// Event-time alignment of the input partitions, as Kafka Streams does it (timestamp synchronization,
// KIP-353): the processor reads several topics, and a consumer fetches each partition as fast as it can.
// Behind a backlog (a restart, a new deployment, a burst on one source) one topic runs hours ahead of the
// others in event time, the watermark follows the fastest one, and the others' events arrive late: they
// are counted and matched by no rule. The clock bounds how far a partition may run ahead: a record is
// processed only while its event time is at most `maxSkew` after the slowest other partition that still
// has data. A partition that reaches the bound is paused until the others catch up.
//
// A newly assigned partition constrains the others until its first batch tells where it stands (so the
// first fetch after a start or a rebalance does not let one topic run ahead). A partition stops
// constraining when it is drained (its last batch reached the high watermark) or when it delivered
// nothing for `idleMs` (an empty or quiet topic, or one whose remaining records are aborted
// transactions, which kafkajs filters without a batch). Like Kafka Streams with max.task.idle.ms, the
// alignment is best effort: a quiet topic does not stall the others for longer than that.

export interface InputClock {
  /** Latest event time a record of `tp` may have to be processed now. */
  bound(tp: string, now: number): number;
  /** After a batch of `tp`: the event time it reached (its first unprocessed record, else its last
   * processed one), and whether it is drained or held back (paused at its bound). */
  update(tp: string, head: number, state: 'drained' | 'held' | 'reading', now: number): void;
  /** The held partitions whose head is within their bound again: they are to be resumed, and count as
   * reading from now on. */
  release(now: number): string[];
  /** A new assignment: forgets every partition; `assigned` constrain until their first batch. */
  reset(assigned: string[], now: number): void;
}

interface PartitionClock {
  head: number;
  state: 'drained' | 'held' | 'reading';
  /** When it last delivered a batch or was released. */
  at: number;
}

export function createInputClock(opts: { maxSkewMs: number; idleMs: number }): InputClock {
  const parts = new Map<string, PartitionClock>();
  // A held partition is not quiet, we are holding it: it never idles out.
  const constraining = (p: PartitionClock, now: number) =>
    p.state === 'held' || (p.state === 'reading' && now - p.at <= opts.idleMs);
  const bound = (tp: string, now: number): number => {
    let low = Number.POSITIVE_INFINITY;
    for (const [k, p] of parts) if (k !== tp && constraining(p, now) && p.head < low) low = p.head;
    return low + opts.maxSkewMs;
  };
  return {
    bound,
    update(tp, head, state, now) {
      parts.set(tp, { head, state, at: now });
    },
    release(now) {
      const out: string[] = [];
      for (const [tp, p] of parts) if (p.state === 'held' && p.head <= bound(tp, now)) out.push(tp);
      for (const tp of out) parts.set(tp, { ...parts.get(tp)!, state: 'reading', at: now });
      return out;
    },
    reset(assigned, now) {
      parts.clear();
      for (const tp of assigned) parts.set(tp, { head: Number.NEGATIVE_INFINITY, state: 'reading', at: now });
    },
  };
}
