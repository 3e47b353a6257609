// A live progress line per connector when stdout is a terminal (records/s, last offset, state).
import type { TaskStatus } from './worker.ts';

export function startProgress(
  status: () => TaskStatus[],
  out: NodeJS.WriteStream = process.stdout,
): () => void {
  const last = new Map<string, { records: number; at: number }>();
  let lines = 0;
  const render = () => {
    const now = Date.now();
    const rows = status().map((t) => {
      const key = `${t.connector}/${t.taskId}`;
      const prev = last.get(key) ?? { records: 0, at: now };
      const rate = now > prev.at ? ((t.records - prev.records) * 1000) / (now - prev.at) : 0;
      last.set(key, { records: t.records, at: now });
      const offsets = Object.entries(t.offsets)
        .map(([p, o]) => `${p}=${JSON.stringify(o)}`)
        .join(' ');
      return `${key.padEnd(28)} ${t.state.padEnd(10)} ${Math.round(rate).toLocaleString('en-US').padStart(9)} rec/s ${t.records.toLocaleString('en-US').padStart(12)} total  ${offsets}`.slice(
        0,
        (out.columns ?? 120) - 1,
      );
    });
    if (lines) out.write(`\x1b[${lines}A`);
    for (const r of rows) out.write(`\x1b[2K${r}\n`);
    lines = rows.length;
  };
  const timer = setInterval(render, 1000);
  return () => {
    clearInterval(timer);
    render();
  };
}
