// Kafka error classification by protocol error type (kafkajs wraps errors in several layers).

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

/** Another producer with our transactional id took over: this instance must stop, not retry. */
export function isFencingError(err: unknown): boolean {
  for (const e of causes(err)) if (typeof e.type === 'string' && FENCING.has(e.type)) return true;
  return false;
}
