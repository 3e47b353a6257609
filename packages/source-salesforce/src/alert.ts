// The alert a replay-expired stream raises. It goes to the `alerts` topic (the one operators page on)
// rather than the dead-letter topic: nothing malformed arrived, the risk is changes that will never
// arrive. Schema fit: `evidence` must point at Kafka records, and the only record involved is the
// committed offset, so the evidence names the offsets topic with offset "-1" (no Kafka position) and
// carries the connector, channel and replay id in its id.
import { createHash } from 'node:crypto';
import { TOPICS, recordHeaders, type Alert } from '@tributary/schemas';
import type { SourceRecord } from '@tributary/sdk';

export const REPLAY_EXPIRED_RULE = 'salesforce.replay-expired';

export function replayExpiredAlert(a: {
  connector: string;
  channel: string;
  replayId: number | null;
  since: number | null;
  policy: 'resnapshot' | 'fail';
  serverError: string | null;
  at: number;
}): SourceRecord {
  const entity = `salesforce:channel:${a.channel}`;
  const position =
    a.replayId !== null ? `replayId ${a.replayId}` : `events since ${new Date(a.since ?? 0).toISOString()}`;
  const anchor = `${a.connector}:${a.channel}@${a.replayId ?? `since:${a.since ?? 0}`}`;
  const value: Alert = {
    alertId: `${REPLAY_EXPIRED_RULE}:${createHash('sha256')
      .update(JSON.stringify([REPLAY_EXPIRED_RULE, 1, entity, [anchor]]))
      .digest('hex')
      .slice(0, 32)}`,
    ruleId: REPLAY_EXPIRED_RULE,
    ruleVersion: 1,
    mode: 'active',
    severity: 'high',
    score: 80,
    entity,
    time: new Date(a.at).toISOString(),
    summary:
      a.policy === 'resnapshot'
        ? `Salesforce no longer retains ${a.channel} ${position}: changes made while the connector was behind are lost from the stream; re-snapshotting the channel's objects`
        : `Salesforce no longer retains ${a.channel} ${position}: changes made while the connector was behind are lost; the task stops (replayExpired: fail)`,
    labels: [],
    evidence: [
      {
        topic: TOPICS.sourceOffsets.name,
        partition: 0,
        offset: '-1',
        id: anchor,
        summary: `committed position ${position} of connector ${a.connector}`,
      },
    ],
    details: {
      connector: a.connector,
      channel: a.channel,
      replayId: a.replayId,
      since: a.since === null ? null : new Date(a.since).toISOString(),
      policy: a.policy,
      serverError: a.serverError,
    },
  };
  return {
    topic: TOPICS.alerts.name,
    key: `${REPLAY_EXPIRED_RULE}:${entity}`,
    value: value as unknown as SourceRecord['value'],
    headers: recordHeaders('alert'),
    timestamp: a.at,
  };
}
