#!/usr/bin/env node
// `npm start`: the embedded local suite. See --help and packages/demo/README.md.
import { createWriteStream } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger, stopOnSignals } from '@tributary/runtime';
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

  const signal = stopOnSignals({
    logger,
    stopping: 'stopping the story and traffic, finishing open transactions, stopping services',
    forcedExitCode: 1,
    ...(tty
      ? {
          onStop: (sig: string) => console.log(`\n${sig}: stopping cleanly (press Ctrl-C again to force)...`),
        }
      : {}),
  });
  const { exitCode } = await runSuite({
    ...options,
    logger,
    signal,
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
