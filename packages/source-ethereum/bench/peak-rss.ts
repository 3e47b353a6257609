import { readFileSync } from 'node:fs';

/** Polls a process's high-water RSS (VmHWM) until it exits. Linux only. */
export function watchPeakRss(pid: number): { stop(): number } {
  let peak = 0;
  const read = () => {
    try {
      const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
      if (m) peak = Math.max(peak, Number(m[1]) / 1024);
    } catch {
      /* exited */
    }
  };
  const timer = setInterval(read, 100);
  return {
    stop: () => {
      read();
      clearInterval(timer);
      return peak;
    },
  };
}
