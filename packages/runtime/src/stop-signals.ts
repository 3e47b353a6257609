// Clean stop on SIGINT/SIGTERM for long-running commands (`tributary run`, `npm start`): the first signal
// aborts, so open transactions finish; a second one later forces the exit. A terminal's Ctrl-C reaches
// npm, tsx and the process at once, so repeats within 1.5 s count as the same press.
import type { Logger } from '@tributary/sdk';

export interface StopSignalsOptions {
  logger: Logger;
  /** Logged after the signal's name on the first signal, e.g. 'finishing open transactions and stopping'. */
  stopping: string;
  /** Exit code of a forced exit. */
  forcedExitCode: number;
  /** Called on the first signal, after the log line (e.g. to tell a person on a terminal). */
  onStop?: (signal: string) => void;
}

/** Installs the handlers and returns the signal they abort. */
export function stopOnSignals(o: StopSignalsOptions): AbortSignal {
  const ac = new AbortController();
  let firstSignalAt = 0;
  const stop = (sig: string) => {
    if (ac.signal.aborted && Date.now() - firstSignalAt < 1_500) return;
    if (ac.signal.aborted) {
      o.logger.warn(`${sig} again: exiting now`);
      process.exit(o.forcedExitCode);
    }
    o.logger.info(`${sig}: ${o.stopping}`);
    o.onStop?.(sig);
    firstSignalAt = Date.now();
    ac.abort(new Error(sig));
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
  return ac.signal;
}
