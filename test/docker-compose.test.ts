// No Docker engine runs in CI: check the compose file's structure instead of running it.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { DEFAULT_KAFKA_VERSION } from '@tributary/testkit';

const root = join(import.meta.dirname, '..');

interface Service {
  image?: string;
  build?: string;
  environment?: Record<string, string | number>;
  depends_on?: Record<string, { condition: string }>;
  healthcheck?: { test: string[] };
  ports?: string[];
}

describe('docker-compose.yml', () => {
  const compose = parse(readFileSync(join(root, 'docker-compose.yml'), 'utf8')) as {
    services: Record<string, Service>;
  };
  const { kafka, worker } = compose.services;

  it('runs Apache Kafka in KRaft mode at the pinned version, ready for transactions on one node', () => {
    expect(kafka?.image).toBe(`apache/kafka:${DEFAULT_KAFKA_VERSION}`);
    const env = kafka!.environment!;
    expect(env.KAFKA_PROCESS_ROLES).toBe('broker,controller');
    expect(env.KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR).toBe(1);
    expect(env.KAFKA_TRANSACTION_STATE_LOG_MIN_ISR).toBe(1);
    expect(env.KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR).toBe(1);
    expect(String(env.KAFKA_CONTROLLER_QUORUM_VOTERS)).toMatch(/^1@kafka:\d+$/);
    expect(kafka!.healthcheck?.test.join(' ')).toContain('kafka-broker-api-versions');
  });

  it('runs a worker built from this repo that waits for a healthy Kafka and reaches it by an advertised listener', () => {
    expect(worker?.build).toBe('.');
    expect(worker!.depends_on?.kafka?.condition).toBe('service_healthy');
    const brokers = String(worker!.environment!.KAFKA_BROKERS);
    const advertised = String(kafka!.environment!.KAFKA_ADVERTISED_LISTENERS);
    expect(advertised).toContain(`PLAINTEXT://${brokers}`);
    expect(worker!.environment!.TRIBUTARY_HTTP_HOST).toBe('0.0.0.0');
    expect(worker!.ports).toContain('8083:8083');
    expect(worker!.healthcheck?.test.join(' ')).toContain('/healthz');
  });

  it('has a Dockerfile whose command is the worker CLI, and the config reads the env the compose file sets', () => {
    expect(existsSync(join(root, 'Dockerfile'))).toBe(true);
    const dockerfile = readFileSync(join(root, 'Dockerfile'), 'utf8');
    expect(dockerfile).toMatch(/^FROM node:20/m);
    expect(dockerfile).toContain('npm ci');
    expect(dockerfile).toMatch(/CMD \["node", "--import", "tsx", "packages\/runtime\/src\/cli\.ts", "run"/);
    expect(readFileSync(join(root, 'connectors.config.ts'), 'utf8')).toContain("env('TRIBUTARY_HTTP_HOST'");
  });
});
