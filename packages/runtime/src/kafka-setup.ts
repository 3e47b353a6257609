// Kafka connection settings from the config, and the topics a worker creates before it runs anything.
import type { Logger } from '@tributary/sdk';
import { errorMessage, sleep } from '@tributary/sdk';
import type { TributaryConfig } from './config.ts';
import type { KafkaClient, TopicSpec } from './kafka/client.ts';
import type { KafkaSettings } from './kafka/client.ts';
import { isConnectionError } from './kafka/errors.ts';
import type { ResolvedConnector } from './registry.ts';
import { backoff, topicNamer } from './tasks.ts';

export function kafkaSettings(cfg: TributaryConfig): KafkaSettings {
  const brokers = cfg.kafka.brokers;
  if (brokers === 'embedded') throw new Error('embedded Kafka must be started before the worker');
  return {
    brokers,
    clientId: cfg.kafka.clientId,
    ssl: cfg.kafka.ssl,
    ...(cfg.kafka.sasl ? { sasl: { ...cfg.kafka.sasl, password: cfg.kafka.sasl.password.reveal() } } : {}),
    transactionTimeoutMs: cfg.kafka.transactionTimeoutMs,
    connectionTimeoutMs: cfg.kafka.connectionTimeoutMs,
    requestTimeoutMs: cfg.kafka.requestTimeoutMs,
  };
}

/** The offsets topic and every topic the connectors write. */
export function topicSpecs(cfg: TributaryConfig, connectors: readonly ResolvedConnector[]): TopicSpec[] {
  const name = topicNamer(cfg);
  const logical = new Set(connectors.flatMap((c) => c.source.topics(c.config)));
  logical.add('deadletter');
  return [
    {
      topic: cfg.topics.offsetsTopic,
      numPartitions: cfg.topics.offsetsPartitions,
      replicationFactor: cfg.topics.replicationFactor,
      configEntries: [{ name: 'cleanup.policy', value: 'compact' }],
    },
    ...[...logical].map((l) => ({
      topic: name(l),
      numPartitions: cfg.topics.partitions,
      replicationFactor: cfg.topics.replicationFactor,
      configEntries: Object.entries({ ...cfg.topics.configs['*'], ...cfg.topics.configs[l] }).map(
        ([name, value]) => ({ name, value }),
      ),
    })),
  ];
}

/** Runs `step` until it succeeds, logging one line per attempt with the backoff, while Kafka is
 * unreachable or refuses; only the signal ends it early. */
export async function untilKafkaAnswers(
  what: string,
  step: () => Promise<void>,
  cfg: TributaryConfig,
  logger: Logger,
  signal: AbortSignal,
): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await step();
      return;
    } catch (err) {
      if (signal.aborted) throw err;
      const delay = backoff(attempt);
      logger.error(
        { brokers: cfg.kafka.brokers, attempt, retryInMs: delay },
        isConnectionError(err) ? `Kafka unreachable: ${errorMessage(err)}` : `${what}: ${errorMessage(err)}`,
      );
      await sleep(delay, signal);
    }
  }
}

/** Creates the offsets topic and every topic the connectors write; retries while Kafka is unreachable. */
export function prepareTopics(
  kafka: KafkaClient,
  cfg: TributaryConfig,
  connectors: readonly ResolvedConnector[],
  logger: Logger,
  signal: AbortSignal,
  extra: TopicSpec[] = [],
): Promise<void> {
  return untilKafkaAnswers(
    'cannot create topics',
    () => kafka.ensureTopics([...topicSpecs(cfg, connectors), ...extra]),
    cfg,
    logger,
    signal,
  );
}
