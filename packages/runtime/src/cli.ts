#!/usr/bin/env node
// tributary — run and operate Tributary source connectors.
import { parseArgs } from 'node:util';
import { ConfigError, loadConfigFile, parseConfig } from './config.ts';
import { createLogger } from './logger.ts';
import { listOffsets, resetOffsets } from './offsets-admin.ts';
import type { ConnectorView, ReloadResult, WorkerView } from './operator.ts';
import { resolveConnectors } from './registry.ts';
import { EXIT, runFromConfig } from './run.ts';
import { stopOnSignals } from './stop-signals.ts';
import type { TaskStatus } from './worker.ts';

const HELP: Record<string, string> = {
  main: `tributary — chain, exchange and CRM sources into Kafka, exactly once

Usage: tributary <command> [options]

Commands:
  run        Run the configured connectors until SIGINT/SIGTERM
  validate   Check connectors.config.ts (exit 2 with the connector and field on error)
  offsets    List or reset committed source offsets (offsets list | offsets reset NAME)
  status     Show the tasks of a running worker (from its HTTP /status)
  connectors Operate connectors through a running worker: list, status, pause, resume, restart, offsets
  workers    Show the workers of a group and the tasks each one runs
  reload     Make a running worker (and its whole group) reload the config file

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
  connectors: `Usage: tributary connectors <subcommand> [NAME] [options]

Talks to a running worker's operator API (any worker of a group answers for the whole group).

Subcommands:
  list                     Connectors with their state, and each task's state and worker (default)
  status NAME              One connector
  pause NAME [--task N]    Stop the connector's tasks (or one task) and keep them stopped; 202
  resume NAME [--task N]   Start them again from their committed offsets
  restart NAME [--task N]  Restart running tasks (also failed or finished ones)
  offsets NAME             Committed source offsets of the connector
  alter-offsets NAME --partition P --offset JSON
                           Set one source partition's offset (JSON; null deletes it). Paused only
  reset-offsets NAME       Delete all of the connector's offsets (it starts afresh). Paused only

Offsets can only change while the connector is paused and its tasks report PAUSED (409 otherwise).
Unknown connectors or tasks exit 1 with the worker's 404 message.

Options:
  --url URL           Worker address (default: worker.http of the config)
  -c, --config FILE   Config file to find the worker address in
  --task N            Act on one task instead of the whole connector
  --json              Print the API's JSON answer`,
  workers: `Usage: tributary workers [--url URL] [--config FILE] [--json]

Lists the workers of the group (from the leader's latest assignment) and the tasks each one runs; a
standalone worker lists itself.`,
  reload: `Usage: tributary reload [--url URL] [--config FILE] [--json]

Asks a running worker to reload its config file (as SIGHUP does). The file is validated first: an invalid
one is rejected with the connector and field named (exit 2) and nothing changes. In a group every worker
then reloads its own copy of the file. Added connectors start, removed ones stop, changed ones restart;
the others are not touched. Changes to kafka, topics or worker settings need a worker restart.`,
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
      task: { type: 'string' },
      offset: { type: 'string' },
    },
  });
  if (values.help) return help(cmd);
  const logger = createLogger();

  if (cmd === 'run') {
    const signal = stopOnSignals({
      logger,
      stopping: 'finishing open transactions and stopping',
      forcedExitCode: EXIT.FAILED,
    });
    const { exitCode } = await runFromConfig({
      configFile: values.config,
      only: values.only,
      logger,
      signal,
      progress: Boolean(process.stdout.isTTY) && !values['no-progress'],
      onReloadable: (reload) =>
        process.on('SIGHUP', () => {
          logger.info('SIGHUP: reloading the config file');
          reload().catch((err: unknown) =>
            logger.error(
              { err: err instanceof ConfigError ? err.issues : String(err) },
              'config reload rejected',
            ),
          );
        }),
    });
    return exitCode;
  }

  const workerUrl = async (): Promise<string | number> => {
    if (values.url) return values.url.replace(/\/$/, '');
    const cfg = parseConfig((await loadConfigFile(values.config)).raw);
    if (!cfg.worker.http) return fail('worker.http is off in the config; pass --url', EXIT.CONFIG);
    if (cfg.worker.http.port === 0)
      return fail('worker.http.port is 0 (any free port); pass --url', EXIT.CONFIG);
    return `http://${cfg.worker.http.host}:${cfg.worker.http.port}`;
  };

  if (cmd === 'connectors' || cmd === 'workers' || cmd === 'reload') {
    const url = await workerUrl();
    if (typeof url === 'number') return url;
    return operate(cmd, positionals, values, url);
  }

  if (cmd === 'status') {
    const url = await workerUrl();
    if (typeof url === 'number') return url;
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

async function api(url: string, method: string, path: string, body?: unknown) {
  let res: Response;
  try {
    res = await fetch(`${url}${path}`, {
      method,
      ...(body === undefined
        ? {}
        : { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }),
    });
  } catch (err) {
    throw new Error(`no worker answering at ${url}: ${(err as Error).message}`, { cause: err });
  }
  const json = (await res.json().catch(() => null)) as unknown;
  return { status: res.status, json };
}

function printConnector(v: ConnectorView) {
  console.log(`${v.name} (${v.type}) ${v.connector.state}`);
  for (const t of v.tasks)
    console.log(
      `  task ${String(t.id).padEnd(4)} ${t.state.padEnd(11)} ${t.worker_id ?? '-'}${t.trace ? `  ${t.trace}` : ''}`,
    );
}

/** `connectors`, `workers` and `reload`: the operator API from the command line. */
async function operate(
  cmd: string,
  positionals: string[],
  values: {
    json?: boolean | undefined;
    task?: string | undefined;
    partition?: string | undefined;
    offset?: string | undefined;
  },
  url: string,
): Promise<number> {
  const answer = (r: { status: number; json: unknown }, print: (json: unknown) => void): number => {
    if (r.status >= 400) {
      const e = r.json as { message?: string; issues?: string[] } | null;
      console.error(`tributary: ${r.status}: ${e?.message ?? 'error'}`);
      return r.status === 400 && cmd === 'reload' ? EXIT.CONFIG : EXIT.FAILED;
    }
    if (values.json) console.log(JSON.stringify(r.json, null, 2));
    else print(r.json);
    return 0;
  };
  if (cmd === 'reload')
    return answer(await api(url, 'POST', '/reload'), (j) => {
      const r = j as ReloadResult;
      console.log(
        `reloaded: added [${r.added.join(', ')}], removed [${r.removed.join(', ')}], changed [${r.changed.join(', ')}], ${r.unchanged.length} unchanged`,
      );
      if (r.ignored.length) console.log(`needs a worker restart to apply: ${r.ignored.join(', ')}`);
    });
  if (cmd === 'workers')
    return answer(await api(url, 'GET', '/workers'), (j) => {
      const w = j as WorkerView;
      for (const x of w.workers)
        console.log(
          `${x.id}${x.id === w.leader ? ' (leader)' : ''}\t${x.tasks.length} task(s)\t${x.tasks.join(' ')}`,
        );
    });
  const [sub = 'list', name] = positionals;
  if (sub === 'list')
    return answer(await api(url, 'GET', '/connectors?expand=status'), (j) => {
      for (const v of Object.values(j as Record<string, { status: ConnectorView }>)) printConnector(v.status);
    });
  if (!name)
    return fail(`connectors ${sub}: name the connector; see tributary connectors --help`, EXIT.CONFIG);
  const path = `/connectors/${encodeURIComponent(name)}`;
  const task = values.task === undefined ? '' : `/tasks/${encodeURIComponent(values.task)}`;
  const ok = (msg: string) => () => console.log(msg);
  switch (sub) {
    case 'status':
      return answer(await api(url, 'GET', `${path}/status`), (j) => printConnector(j as ConnectorView));
    case 'pause':
    case 'resume':
      return answer(
        await api(url, 'PUT', `${path}${task}/${sub}`),
        ok(`${sub} requested: ${name}${task ? ` task ${values.task}` : ''}`),
      );
    case 'restart':
      return answer(
        await api(url, 'POST', `${path}${task}/restart`),
        ok(`restart requested: ${name}${task ? ` task ${values.task}` : ''}`),
      );
    case 'offsets':
      return answer(await api(url, 'GET', `${path}/offsets`), (j) => {
        for (const o of (j as { offsets: { partition: string; offset: unknown }[] }).offsets)
          console.log(`${o.partition}\t${JSON.stringify(o.offset)}`);
      });
    case 'alter-offsets': {
      if (values.partition === undefined || values.offset === undefined)
        return fail('alter-offsets needs --partition P --offset JSON', EXIT.CONFIG);
      let offset: unknown;
      try {
        offset = JSON.parse(values.offset);
      } catch {
        return fail(`--offset is not JSON: ${values.offset}`, EXIT.CONFIG);
      }
      return answer(
        await api(url, 'PATCH', `${path}/offsets`, { offsets: [{ partition: values.partition, offset }] }),
        (j) => console.log((j as { message: string }).message),
      );
    }
    case 'reset-offsets':
      return answer(await api(url, 'DELETE', `${path}/offsets`), (j) =>
        console.log((j as { message: string }).message),
      );
    default:
      return fail(`connectors: unknown subcommand "${sub}"; see tributary connectors --help`, EXIT.CONFIG);
  }
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
