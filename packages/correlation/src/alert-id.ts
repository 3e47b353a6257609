import { createHash } from 'node:crypto';

/** Deterministic alert id: the same rule version finding the same thing (key + first evidence ids) always
 * gets the same id, so a replay or a restart never creates a second alert for it. */
export function alertId(
  ruleId: string,
  ruleVersion: number,
  key: string,
  anchorIds: readonly string[],
): string {
  const h = createHash('sha256')
    .update(JSON.stringify([ruleId, ruleVersion, key, anchorIds]))
    .digest('hex');
  return `${ruleId}:${h.slice(0, 32)}`;
}
