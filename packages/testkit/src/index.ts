// Dev-only kit: real services for tests, benchmarks and the local demo, plus the source conformance suite.
export {
  startKafka,
  kafkaJars,
  DEFAULT_KAFKA_VERSION,
  type KafkaBroker,
  type StartKafkaOptions,
} from './kafka.ts';
export {
  resolveJars,
  cacheRoot,
  requireJavaAndMaven,
  MissingToolError,
  type MavenArtifact,
} from './maven.ts';
export { freePort } from './ports.ts';
export { readTopic, createTopics, deleteTopics, type TopicMessage } from './read-topic.ts';
export {
  spawnCli,
  spawnWorker,
  waitForOutput,
  crashLoop,
  writeConfig,
  workerCli,
  workerUrl,
  logLines,
  type WorkerProcess,
  type CrashLoopOptions,
} from './worker-process.ts';
export { startBtcd, btcdBinary, DEFAULT_BTCD_VERSION, type BtcdNode, type StartBtcdOptions } from './btcd.ts';
export type {} from './vitest-context.ts';
export { startHardhat, type HardhatNode, type StartHardhatOptions } from './hardhat.ts';
export {
  startGeth,
  gethBinary,
  sendInOneBlock,
  DEFAULT_GETH_VERSION,
  GETH_DEV_ACCOUNT,
  GETH_DEV_KEY,
  type GethNode,
  type StartGethOptions,
  type DevTransaction,
} from './geth.ts';
export { describeSourceConformance, type ConformanceSetup } from './conformance.ts';
export * from './venues/index.ts';
export * from './crm/hubspot/index.ts';
export * from './crm/salesforce/index.ts';
export { benchResultsPath, writeBenchResults, median, printTable } from './bench.ts';
export { SHARED_FIXTURES, sharedFixturePath, readSharedFixture } from './fixtures.ts';
export { processCpuSeconds, processGroupCpuSeconds } from './process-group.ts';
export { groupLag, groupLagOf } from './group-lag.ts';
