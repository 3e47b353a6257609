import { spawn, type ChildProcess } from 'node:child_process';
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync, createWriteStream } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Kafka, logLevel } from 'kafkajs';
import { freePort } from './ports.ts';
import { stopProcessGroup } from './process-group.ts';
import { resolveJars } from './maven.ts';

const run = promisify(execFile);

/** The Kafka version the project is pinned to; see the testkit README for why. */
export const DEFAULT_KAFKA_VERSION = '3.9.1';

export interface KafkaBroker {
  /** `host:port` list for clients. */
  brokers: string[];
  /** True when we started the broker (false when KAFKA_BROKERS pointed at an existing cluster). */
  owned: boolean;
  version: string | null;
  /** Folder with the broker's jars (null for an external cluster); `kafka-tools` is on it too. */
  libs: string | null;
  /** Stops the broker process and keeps its data (for restart tests). */
  stop(): Promise<void>;
  /** Starts it again on the same ports and data. */
  restart(): Promise<void>;
  /** Stops the broker and deletes its data. Idempotent. */
  close(): Promise<void>;
}

export interface StartKafkaOptions {
  version?: string;
  /** Ignore KAFKA_BROKERS and always start a private broker (e.g. a broker-restart test). */
  private?: boolean;
  heap?: string;
  /** Partitions for new topics created automatically; tests create topics explicitly. */
  numPartitions?: number;
  readyTimeoutMs?: number;
  /** Where broker logs go; defaults to the data dir. */
  logFile?: string;
}

/** Kafka jars: the broker, the tools (ProducerPerformance for benchmarks) and a logging binding. */
export async function kafkaJars(version: string): Promise<string> {
  const major = Number(version.split('.')[0]);
  const logging =
    major >= 4
      ? [{ groupId: 'org.apache.logging.log4j', artifactId: 'log4j-slf4j2-impl', version: '2.24.3' }]
      : [{ groupId: 'org.slf4j', artifactId: 'slf4j-reload4j', version: '1.7.36' }];
  return resolveJars(`kafka-${version}`, [
    { groupId: 'org.apache.kafka', artifactId: 'kafka_2.13', version },
    { groupId: 'org.apache.kafka', artifactId: 'kafka-tools', version },
    ...logging,
  ]);
}

function loggingArgs(dir: string, version: string): string[] {
  if (Number(version.split('.')[0]) >= 4) {
    const file = join(dir, 'log4j2.properties');
    writeFileSync(
      file,
      [
        'status = error',
        'appender.out.type = Console',
        'appender.out.name = OUT',
        'appender.out.layout.type = PatternLayout',
        'appender.out.layout.pattern = [%d] %p %m (%c)%n',
        'rootLogger.level = WARN',
        'rootLogger.appenderRef.out.ref = OUT',
        'logger.server.name = kafka.server.KafkaRaftServer',
        'logger.server.level = INFO',
      ].join('\n'),
    );
    return [`-Dlog4j2.configurationFile=${file}`];
  }
  const file = join(dir, 'log4j.properties');
  writeFileSync(
    file,
    [
      'log4j.rootLogger=WARN, stdout',
      'log4j.appender.stdout=org.apache.log4j.ConsoleAppender',
      'log4j.appender.stdout.layout=org.apache.log4j.PatternLayout',
      'log4j.appender.stdout.layout.ConversionPattern=[%d] %p %m (%c)%n',
      'log4j.logger.kafka.server.KafkaRaftServer=INFO',
    ].join('\n'),
  );
  return [`-Dlog4j.configuration=file:${file}`];
}

/** Starts one KRaft broker+controller on loopback from Maven Central jars, or, when KAFKA_BROKERS is set,
 * returns that cluster. Transactions work on a single node: internal topics at replication factor 1. */
export async function startKafka(opts: StartKafkaOptions = {}): Promise<KafkaBroker> {
  const external = process.env.KAFKA_BROKERS;
  if (external && !opts.private) {
    const brokers = external
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
    const noop = async () => {};
    return { brokers, owned: false, version: null, libs: null, stop: noop, restart: noop, close: noop };
  }

  const version = opts.version ?? process.env.KAFKA_VERSION ?? DEFAULT_KAFKA_VERSION;
  const libs = await kafkaJars(version);
  const dir = mkdtempSync(join(tmpdir(), 'tributary-kafka-'));
  const [port, controllerPort] = [await freePort(), await freePort()];
  const props = join(dir, 'server.properties');
  writeFileSync(
    props,
    [
      'process.roles=broker,controller',
      'node.id=1',
      `controller.quorum.voters=1@127.0.0.1:${controllerPort}`,
      `listeners=PLAINTEXT://127.0.0.1:${port},CONTROLLER://127.0.0.1:${controllerPort}`,
      `advertised.listeners=PLAINTEXT://127.0.0.1:${port}`,
      'controller.listener.names=CONTROLLER',
      'inter.broker.listener.name=PLAINTEXT',
      'listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT',
      `log.dirs=${join(dir, 'data')}`,
      `num.partitions=${opts.numPartitions ?? 1}`,
      'offsets.topic.replication.factor=1',
      'offsets.topic.num.partitions=3',
      'transaction.state.log.replication.factor=1',
      'transaction.state.log.min.isr=1',
      'transaction.state.log.num.partitions=3',
      'group.initial.rebalance.delay.ms=0',
      'auto.create.topics.enable=false',
      // Aborted zombie transactions must not hold the LSO for the 15-minute default.
      'transaction.max.timeout.ms=900000',
      'log.retention.check.interval.ms=60000',
    ].join('\n'),
  );
  const cp = `${libs}/*`;
  const logArgs = loggingArgs(dir, version);
  const { stdout: uuid } = await run('java', [
    '-cp',
    cp,
    ...logArgs,
    'kafka.tools.StorageTool',
    'random-uuid',
  ]);
  await run('java', [
    '-cp',
    cp,
    ...logArgs,
    'kafka.tools.StorageTool',
    'format',
    '-t',
    uuid.trim(),
    '-c',
    props,
  ]);

  const brokers = [`127.0.0.1:${port}`];
  const logFile = opts.logFile ?? join(dir, 'broker.log');
  let child: ChildProcess | null = null;
  let closed = false;

  const launch = async () => {
    mkdirSync(dir, { recursive: true });
    const out = createWriteStream(logFile, { flags: 'a' });
    // The wrapper kills the JVM when our stdin closes, i.e. when this process dies, even by SIGKILL:
    // no broker outlives its test run.
    // (A background job's stdin is /dev/null unless redirected, hence fd 3.)
    const script =
      'exec 3<&0; java "$@" </dev/null & j=$!; trap "kill $j 2>/dev/null; wait $j; exit 143" TERM INT; ' +
      '(cat <&3 >/dev/null; kill $j 2>/dev/null) & wait $j';
    child = spawn(
      'bash',
      [
        '-c',
        script,
        'kafka',
        `-Xmx${opts.heap ?? '512m'}`,
        `-Xms${opts.heap ?? '512m'}`,
        '-XX:+UseSerialGC',
        ...logArgs,
        '-cp',
        cp,
        'kafka.Kafka',
        props,
      ],
      { stdio: ['pipe', 'pipe', 'pipe'], detached: true },
    );
    child.stdout?.pipe(out);
    child.stderr?.pipe(out);
    child.unref();
    (child.stdin as unknown as { unref?: () => void } | null)?.unref?.();
    for (const s of [child.stdout, child.stderr]) (s as unknown as { unref?: () => void } | null)?.unref?.();
    await waitReady(brokers, opts.readyTimeoutMs ?? 90_000, () => child?.exitCode ?? null, logFile);
  };

  const stop = async () => {
    const c = child;
    child = null;
    if (!c || c.exitCode !== null) return;
    await stopProcessGroup(c, { graceMs: 20_000 });
  };

  await launch();
  return {
    brokers,
    owned: true,
    version,
    libs,
    stop,
    restart: async () => {
      await stop();
      await launch();
    },
    close: async () => {
      if (closed) return;
      closed = true;
      await stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function waitReady(
  brokers: string[],
  timeoutMs: number,
  exitCode: () => number | null,
  logFile: string,
) {
  const deadline = Date.now() + timeoutMs;
  const kafka = new Kafka({
    brokers,
    clientId: 'testkit-ready',
    logLevel: logLevel.NOTHING,
    retry: { retries: 0 },
  });
  let last: unknown = null;
  while (Date.now() < deadline) {
    if (exitCode() !== null)
      throw new Error(`Kafka exited during start (code ${exitCode()}); see ${logFile}`);
    const admin = kafka.admin();
    try {
      await admin.connect();
      await admin.describeCluster();
      // Transactions need the transaction coordinator: creating a topic proves the controller is up.
      await admin.listTopics();
      await admin.disconnect();
      return;
    } catch (err) {
      last = err;
      await admin.disconnect().catch(() => {});
      await new Promise((r) => setTimeout(r, 300));
    }
  }
  throw new Error(`Kafka not ready after ${timeoutMs} ms (${String(last)}); see ${logFile}`);
}
