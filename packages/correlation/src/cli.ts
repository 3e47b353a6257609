// tributary-correlation: `run` the live exactly-once processor (and `rekey`, the stage in front of a
// scaled-out one), or `backtest` a time range.
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { backtestTopics } from './backtest.ts';
import { identityOf, loadConfig, processorOptionsOf, rekeyOptionsOf, rulesOf, topicsOf } from './config.ts';
import { runProcessor, type CommitInfo } from './processor.ts';
import { runThreads } from './threads.ts';
import { createProcessorMetrics, startHttp } from './http.ts';
import { band } from './dsl.ts';
import { loadWatchlist } from './watchlist.ts';

const HELP = `Usage: correlation <command> [options]

Commands:
  run        Run the live processor: consume the input topics, raise alerts exactly once.
  rekey      Run the rekey stage (config "rekey"): write the input topics, keyed by entity, to the
             by-entity topic that "run" then reads with one task per partition.
  backtest   Replay the input topics through the rules and print what would have fired.
  rules      List the rules with id, version, mode, severity and description.

Options:
  --config <file>   JSON config (brokers, topics, identity mapping, watchlists, rule params and modes)
  --threads <n>     run: processor threads in this process (default 1; more than 1 needs
                    "partitioned": true or a "rekey" section, and the tasks are dealt between the
                    threads)
  --http-port <n>   run, rekey: serve /healthz and /metrics (Prometheus) on this port (0: a free one; the
                    address is logged); default off
  --http-host <h>   run, rekey: address to listen on (default 127.0.0.1)
  --from <time>     backtest: first event time to report (ISO 8601)
  --to <time>       backtest: last event time to replay (ISO 8601)
  --rules <ids>     backtest: only these rule ids (comma separated)
  --json            backtest: one alert JSON per line instead of a table
  --partitions <n>  backtest: replay through the re-keyed layout with n tasks (what "rekey" and
                    "run" with that many by-entity partitions would raise)
  -h, --help        Show this help
`;

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      config: { type: 'string' },
      from: { type: 'string' },
      to: { type: 'string' },
      rules: { type: 'string' },
      json: { type: 'boolean', default: false },
      partitions: { type: 'string' },
      threads: { type: 'string', default: '1' },
      'http-port': { type: 'string' },
      'http-host': { type: 'string', default: '127.0.0.1' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  const command = positionals[0];
  if (values.help || !command) {
    process.stdout.write(HELP);
    return values.help ? 0 : 2;
  }
  if (!values.config) {
    process.stderr.write('--config is required\n');
    return 2;
  }
  const config = loadConfig(values.config);
  const logger = pino({ level: process.env.LOG_LEVEL ?? 'info', base: { pid: process.pid } });
  const { inputs } = topicsOf(config);
  let rules = rulesOf(config);
  const controller = new AbortController();
  for (const s of ['SIGINT', 'SIGTERM'] as const) process.once(s, () => controller.abort(new Error(s)));

  switch (command) {
    case 'rules':
      for (const r of rules)
        process.stdout.write(
          `${r.id}@${r.version}\t${r.mode}\t${r.severity} (${band(r.severity)})\t${r.description}\n`,
        );
      return 0;
    case 'run':
    case 'rekey': {
      if (command === 'rekey' && !config.rekey) {
        process.stderr.write(`rekey: ${values.config} has no "rekey" section ({ "partitions": n })\n`);
        return 2;
      }
      const threads = command === 'rekey' ? 1 : Number(values.threads);
      if (!Number.isInteger(threads) || threads < 1) {
        process.stderr.write(`--threads must be a positive integer, not '${values.threads}'\n`);
        return 2;
      }
      if (threads > 1 && !config.partitioned && !config.rekey) {
        process.stderr.write(
          `--threads ${threads} needs "partitioned": true or a "rekey" section in ${values.config} (without either the processor is one task)\n`,
        );
        return 2;
      }
      const port = values['http-port'] === undefined ? null : Number(values['http-port']);
      if (port !== null && !(Number.isInteger(port) && port >= 0 && port < 65536)) {
        process.stderr.write(`--http-port must be a port number, not '${values['http-port']}'\n`);
        return 2;
      }
      const metrics = createProcessorMetrics();
      const http = port === null ? null : await startHttp(port, values['http-host'], metrics);
      if (http) logger.info({ url: http.url }, 'http listening: /healthz, /metrics');
      try {
        if (threads > 1)
          await runThreads(values.config, threads, logger, controller.signal, (e) =>
            'commit' in e ? metrics.commit(e.commit) : metrics.restart(e.restart.error),
          );
        else {
          const run = {
            logger,
            signal: controller.signal,
            onCommit: (c: CommitInfo) => metrics.commit(c),
            onRestart: (r: { error: string }) => metrics.restart(r.error),
          };
          await runProcessor(
            command === 'rekey' ? rekeyOptionsOf(config, run) : processorOptionsOf(config, run),
          );
        }
      } finally {
        http?.server.close();
      }
      logger.info(command === 'rekey' ? 'rekey stage stopped' : 'processor stopped');
      return 0;
    }
    case 'backtest': {
      if (values.rules) {
        const ids = new Set(values.rules.split(',').map((s) => s.trim()));
        rules = rules
          .filter((r) => ids.has(r.id))
          .map((r) => ({ ...r, mode: r.mode === 'disabled' ? 'active' : r.mode }));
      }
      const parseTime = (s: string | undefined) => {
        if (s === undefined) return undefined;
        const t = Date.parse(s);
        if (Number.isNaN(t)) throw new Error(`invalid time '${s}'`);
        return t;
      };
      const partitions = values.partitions === undefined ? undefined : Number(values.partitions);
      if (partitions !== undefined && !(Number.isInteger(partitions) && partitions > 0)) {
        process.stderr.write(`--partitions must be a positive integer, not '${values.partitions}'\n`);
        return 2;
      }
      const r = await backtestTopics({
        brokers: config.brokers,
        inputs,
        rules,
        identity: identityOf(config),
        watchlist: config.watchlists.length ? await loadWatchlist(config.watchlists) : undefined,
        allowedLateness: config.allowedLateness,
        from: parseTime(values.from),
        to: parseTime(values.to),
        ...(partitions !== undefined ? { partitions } : {}),
        signal: controller.signal,
      });
      if (values.json) for (const a of r.alerts) process.stdout.write(`${JSON.stringify(a)}\n`);
      else {
        for (const a of r.alerts)
          process.stdout.write(
            `${a.time}\t${a.severity.padEnd(8)}\t${a.ruleId}\t${a.entity}\t${a.summary}\n`,
          );
        process.stdout.write(
          `${r.alerts.length} alerts from ${r.events} events (${r.skipped} skipped, ${r.late} late)\n`,
        );
      }
      return 0;
    }
    default:
      process.stderr.write(`unknown command '${command}'\n${HELP}`);
      return 2;
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
