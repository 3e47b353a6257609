// Public API of @tributary/demo: the embedded local suite behind `npm start`, for the CLI and tests.
export { runSuite, type SuiteOptions, type SuiteResult } from './suite.ts';
export { parseOptions, DEFAULTS, HELP, UsageError, type DemoOptions } from './options.ts';
export { STORY_RULES, SANCTIONED } from './story.ts';
export { CONNECTORS, workerConfig, processorConfig } from './suite-config.ts';
export { LAG_UNITS, shortOffset } from './summary.ts';
