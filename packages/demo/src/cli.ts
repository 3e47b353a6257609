#!/usr/bin/env node
// `npm start`: the embedded local suite. See --help and packages/demo/README.md.
import { createWriteStream } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger } from '@tributary/runtime';
import { HELP, parseOptions, UsageError } from './options.ts';
import { runSuite } from './suite.ts';

async function main(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseOptions(argv);
  } catch (err) {
    if (err instanceof UsageError) {
      console.error(`tributary demo: ${err.message}\n\n${HELP}`);
      return 2;
    }
    throw err;
  }
  if (parsed.help) {
    console.log(HELP);
    return 0;
  }
  const options = parsed.options;
  const tty = options.progress && Boolean(process.stdout.isTTY);
  // On a terminal the screen belongs to the summary: the JSON log goes to a file, named in the header.
  const logFile = tty ? join(tmpdir(), `tributary-demo-${process.pid}.log`) : undefined;
  const logger = createLogger(logFile ? { destination: createWriteStream(logFile) } : {});

  const ac = new AbortController();
  let firstSignalAt = 0;
  const stop = (sig: string) => {
    // A terminal's Ctrl-C reaches npm and us at once: only a second press, later, forces an exit.
    if (ac.signal.aborted && Date.now() - firstSignalAt < 1_500) return;
    if (ac.signal.aborted) {
      logger.warn(`${sig} again: exiting now`);
      process.exit(1);
    }
    logger.info(`${sig}: stopping the story and traffic, finishing open transactions, stopping services`);
    if (tty) console.log(`\n${sig}: stopping cleanly (press Ctrl-C again to force)...`);
    firstSignalAt = Date.now();
    ac.abort(new Error(sig));
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));

  const { exitCode } = await runSuite({
    ...options,
    logger,
    signal: ac.signal,
    tty,
    ...(tty ? { say: (line: string) => console.log(line), logFile } : {}),
  });
  if (tty) console.log(exitCode === 0 ? 'stopped.' : `stopped with errors; see ${logFile}`);
  return exitCode;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
