// Follows the processor's alert topics with read_committed (only alerts whose transaction committed), for
// the terminal summary: the latest alerts and counts per rule and severity.
import { randomUUID } from 'node:crypto';
import { Kafka, logLevel, type Consumer } from 'kafkajs';
import { alert as alertSchema, type Alert } from '@tributary/schemas';
import type { Logger } from '@tributary/sdk';

export interface AlertsFeed {
  latest(n: number): Alert[];
  /** Active alerts per rule id. */
  byRule(): Map<string, number>;
  total(): number;
  /** Alerts of rules in test mode (`alerts.test`). */
  testAlerts(): number;
  /** Active alerts raised since `since` (ms), oldest first. */
  since(since: number): Alert[];
  close(): Promise<void>;
}

export async function followAlerts(o: {
  brokers: string[];
  alertsTopic: string;
  testAlertsTopic: string;
  logger: Logger;
  onAlert: (a: Alert) => void;
}): Promise<AlertsFeed> {
  const kafka = new Kafka({
    brokers: o.brokers,
    clientId: 'tributary-demo-summary',
    logLevel: logLevel.NOTHING,
  });
  const alerts: { alert: Alert; seenAt: number }[] = [];
  const rules = new Map<string, number>();
  let tests = 0;
  // A throwaway group: the summary reads everything each run and commits nothing that matters.
  const consumer: Consumer = kafka.consumer({
    groupId: `tributary-demo-summary-${randomUUID()}`,
    readUncommitted: false,
    maxWaitTimeInMs: 250,
  });
  await consumer.connect();
  await consumer.subscribe({ topics: [o.alertsTopic, o.testAlertsTopic], fromBeginning: true });
  await consumer.run({
    autoCommit: false,
    eachMessage: async ({ topic, message }) => {
      if (topic === o.testAlertsTopic) {
        tests++;
        return;
      }
      let json: unknown = null;
      try {
        json = JSON.parse(message.value?.toString('utf8') ?? 'null');
      } catch {
        // not JSON: reported below like any other record that does not parse
      }
      const parsed = alertSchema.safeParse(json);
      if (!parsed.success) {
        o.logger.warn({ topic, offset: message.offset }, 'alert record that does not parse; skipped');
        return;
      }
      const a = parsed.data;
      alerts.push({ alert: a, seenAt: Date.now() });
      if (alerts.length > 1000) alerts.splice(0, alerts.length - 1000);
      rules.set(a.ruleId, (rules.get(a.ruleId) ?? 0) + 1);
      o.onAlert(a);
    },
  });
  return {
    latest: (n) => alerts.slice(-n).map((x) => x.alert),
    byRule: () => new Map(rules),
    total: () => [...rules.values()].reduce((s, n) => s + n, 0),
    testAlerts: () => tests,
    since: (t) => alerts.filter((x) => x.seenAt >= t).map((x) => x.alert),
    close: () => consumer.disconnect().catch(() => {}),
  };
}
