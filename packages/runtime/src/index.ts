// Public API of the worker runtime: config helpers for connectors.config.ts and the pieces to embed a
// worker in another program.
export {
  defineConfig,
  env,
  secretEnv,
  parseConfig,
  loadConfigFile,
  ConfigError,
  type TributaryConfig,
  type TributaryConfigInput,
  type ConnectorConfig,
} from './config.ts';
export { resolveConnectors, BUILTIN_SOURCES, type ResolvedConnector } from './registry.ts';
export {
  startWorker,
  topicNamer,
  transactionalId,
  type Worker,
  type WorkerDeps,
  type TaskStatus,
  type TaskStateName,
} from './worker.ts';
export {
  OperatorError,
  type Control,
  type ConnectorView,
  type TaskView,
  type ReloadResult,
  type WorkerView,
} from './operator.ts';
export { assignTasks, type Advertisement, type AssignmentResult } from './assignment.ts';
export { runFromConfig, EXIT, type RunOptions, type RunResult } from './run.ts';
export { startServedWorker, type ServedWorker, type ServedWorkerOptions } from './served-worker.ts';
export { createMetrics, type Metrics } from './metrics.ts';
export { createLogger, REDACT_PATHS } from './logger.ts';
export { stopOnSignals, type StopSignalsOptions } from './stop-signals.ts';
export { health, startHttp } from './http.ts';
export {
  createDashboard,
  type Dashboard,
  type DashboardDeps,
  type DashboardData,
  type AlertView,
} from './dashboard/index.ts';
export { isFencingError, isConnectionError } from './kafka/errors.ts';
