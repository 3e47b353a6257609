#!/usr/bin/env node
// tributary — run and operate Tributary source connectors.
import { parseArgs } from 'node:util';
import { ConfigError, loadConfigFile, parseConfig } from './config.ts';
import { createLogger } from './logger.ts';
import { listOffsets, resetOffsets } from './offsets-cli.ts';
import { resolveConnectors } from './registry.ts';
import { EXIT, runFromConfig } from './run.ts';
import type { TaskStatus } from './worker.ts';

const HELP: Record<string, string> = {
  main: `tributary — chain, exchange and CRM sources into Kafka, exactly once

Usage: tributary <command> [options]

Commands:
  run        Run the configured connectors until SIGINT/SIGTERM
  validate   Check connectors.config.ts (exit 2 with the connector and field on error)
  offsets    List or reset committed source offsets (offsets list | offsets reset NAME)
  status     Show the tasks of a running worker (from its HTTP /status)

Options:
  -h, --help  Show help (also: tributary <command> --help)

Environment: KAFKA_BROKERS overrides kafka.brokers; TRIBUTARY_CONFIG names the config file;
LOG_LEVEL sets the log level (info).`,
  run: `Usage: tributary run [--config FILE] [--only NAME]... [--no-progress]

Runs every connector in the config (or only those named). Each batch of records and its source offset
commit in one Kafka transaction. On a terminal, prints a progress line per task; otherwise JSON logs.
Stops cleanly on SIGINT/SIGTERM. Exit codes: 0 stopped, 1 a task failed, 2 invalid config, 3 fenced.

Options:
  -c, --config FILE   Config file (.ts, .js, .mjs or .json; default connectors.config.ts)
  --only NAME         Run only this connector (repeatable)
  --no-progress       No progress line even on a terminal`,
  validate: `Usage: tributary validate [--config FILE]

Loads and validates the config and every connector's source config. Prints each problem with its
connector and field path and exits 2, or prints a summary and exits 0.`,
  offsets: `Usage: tributary offsets list [--config FILE] [--connector NAME]
       tributary offsets reset NAME [--config FILE] [--partition P]

list   Prints the committed offset of every source partition (read_committed).
reset  Deletes a connector's offsets (all partitions, or one) so it starts afresh. Running tasks of that
       connector are fenced first and stop: restart the worker after a reset.`,
  status: `Usage: tributary status [--url URL] [--config FILE] [--json]

Asks a running worker (GET /status) for its tasks: state, records, offsets, last error.
URL defaults to the worker.http address in the config (http://127.0.0.1:8083).`,
};

function help(cmd: string): number {
  console.log(HELP[cmd] ?? HELP.main);
  return 0;
}

function fail(message: string, code: number = EXIT.FAILED): number {
  console.error(`tributary: ${message}`);
  return code;
}

async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  if (!cmd || cmd === '-h' || cmd === '--help' || cmd === 'help') return help(rest[0] ?? 'main');
  if (!(cmd in HELP) || cmd === 'main')
    return fail(`unknown command "${cmd}"; see tributary --help`, EXIT.CONFIG);
  const { values, positionals } = parseArgs({
    args: rest,
    allowPositionals: true,
    options: {
      help: { type: 'boolean', short: 'h' },
      config: { type: 'string', short: 'c' },
      only: { type: 'string', multiple: true },
      'no-progress': { type: 'boolean' },
      connector: { type: 'string' },
      partition: { type: 'string' },
      url: { type: 'string' },
      json: { type: 'boolean' },
    },
  });
  if (values.help) return help(cmd);
  const logger = createLogger();

  if (cmd === 'run') {
    const ac = new AbortController();
    let firstSignalAt = 0;
    const stop = (sig: string) => {
      // A terminal's Ctrl-C reaches npm, tsx and us at once: only a second press, later, forces an exit.
      if (ac.signal.aborted && Date.now() - firstSignalAt < 1_500) return;
      if (ac.signal.aborted) {
        logger.warn(`${sig} again: exiting now`);
        process.exit(EXIT.FAILED);
      }
      logger.info(`${sig}: finishing open transactions and stopping`);
      firstSignalAt = Date.now();
      ac.abort(new Error(sig));
    };
    process.on('SIGINT', () => stop('SIGINT'));
    process.on('SIGTERM', () => stop('SIGTERM'));
    const { exitCode } = await runFromConfig({
      configFile: values.config,
      only: values.only,
      logger,
      signal: ac.signal,
      progress: Boolean(process.stdout.isTTY) && !values['no-progress'],
    });
    return exitCode;
  }

  if (cmd === 'status') {
    let url = values.url;
    if (!url) {
      const cfg = parseConfig((await loadConfigFile(values.config)).raw);
      if (!cfg.worker.http) return fail('worker.http is off in the config; pass --url', EXIT.CONFIG);
      url = `http://${cfg.worker.http.host}:${cfg.worker.http.port}`;
    }
    let body: { tasks: TaskStatus[] };
    try {
      body = (await (await fetch(`${url}/status`)).json()) as { tasks: TaskStatus[] };
    } catch (err) {
      return fail(`no worker answering at ${url}: ${(err as Error).message}`);
    }
    if (values.json) console.log(JSON.stringify(body, null, 2));
    else
      for (const t of body.tasks)
        console.log(
          `${`${t.connector}/${t.taskId}`.padEnd(28)} ${t.state.padEnd(10)} ${String(t.records).padStart(12)} records  ${JSON.stringify(t.offsets)}${t.lastError ? `  last error: ${t.lastError}` : ''}`,
        );
    return 0;
  }

  const { path, raw } = await loadConfigFile(values.config);
  const cfg = parseConfig(raw);
  const connectors = await resolveConnectors(cfg, path);

  if (cmd === 'validate') {
    console.log(
      `${path}: OK — ${connectors.length} connector(s): ${connectors.map((c) => `${c.connector.name} (${c.connector.type})`).join(', ') || 'none'}`,
    );
    return 0;
  }

  // offsets
  if (cfg.kafka.brokers === 'embedded')
    return fail('offsets needs a running Kafka: set KAFKA_BROKERS', EXIT.CONFIG);
  const [sub, name] = positionals;
  if (sub === 'list') {
    const all = await listOffsets(cfg, logger);
    for (const [connector, parts] of all) {
      if (values.connector && connector !== values.connector) continue;
      for (const [p, e] of [...parts].sort(([a], [b]) => a.localeCompare(b)))
        console.log(`${connector}\t${p}\t${JSON.stringify(e.offset)}\ttask ${e.taskId}\t${e.at}`);
    }
    return 0;
  }
  if (sub === 'reset') {
    const c = connectors.find((x) => x.connector.name === name);
    if (!c)
      return fail(
        `offsets reset: no connector "${name ?? ''}" (have: ${connectors.map((x) => x.connector.name).join(', ')})`,
        EXIT.CONFIG,
      );
    const parts = await resetOffsets(cfg, c, logger, values.partition);
    console.log(
      parts.length
        ? `reset ${parts.length} partition(s) of ${c.connector.name}: ${parts.join(', ')}`
        : `${c.connector.name} had no committed offsets`,
    );
    return 0;
  }
  return fail('offsets: expected "list" or "reset NAME"; see tributary offsets --help', EXIT.CONFIG);
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
    // If a client library leaves a handle open, don't hang after the work is done.
    setTimeout(() => process.exit(code), 3_000).unref();
  },
  (err: unknown) => {
    if (err instanceof ConfigError) process.exitCode = fail(err.message, EXIT.CONFIG);
    else process.exitCode = fail((err as Error)?.stack ?? String(err));
  },
);
