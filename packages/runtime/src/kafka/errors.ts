// Kafka error classification, by protocol error type names (kafkajs wraps errors in several layers).

const FENCING = new Set([
  'PRODUCER_FENCED',
  'INVALID_PRODUCER_EPOCH',
  'INVALID_PRODUCER_ID_MAPPING',
  'TRANSACTIONAL_ID_AUTHORIZATION_FAILED',
]);

function* causes(err: unknown, depth = 0): Generator<Record<string, unknown>> {
  if (depth > 6 || typeof err !== 'object' || err === null) return;
  const e = err as Record<string, unknown>;
  yield e;
  for (const k of ['cause', 'originalError']) yield* causes(e[k], depth + 1);
  if (Array.isArray(e.errors)) for (const inner of e.errors) yield* causes(inner, depth + 1);
}

/** True when another producer with the same transactional id took over (or the coordinator bumped our
 * epoch): this instance must stop, not retry. */
export function isFencingError(err: unknown): boolean {
  for (const e of causes(err)) {
    if (typeof e.type === 'string' && FENCING.has(e.type)) return true;
  }
  return false;
}

/** True for connection-level failures (broker down or unreachable). */
export function isConnectionError(err: unknown): boolean {
  for (const e of causes(err)) {
    const name = typeof e.name === 'string' ? e.name : '';
    if (
      name === 'KafkaJSConnectionError' ||
      name === 'KafkaJSBrokerNotFound' ||
      name === 'KafkaJSNumberOfRetriesExceeded'
    ) {
      return true;
    }
  }
  return false;
}
