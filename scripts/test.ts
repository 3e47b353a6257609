// `npm test`: typecheck and lint every package, then run every package's tests (two packages at a time:
// they start real services and mostly wait on them; within a package, files run one at a time), then
// print one closing line summed over all of them.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { startKafka } from '@tributary/testkit';

const root = join(import.meta.dirname, '..');
const dirs = [
  ...readdirSync(join(root, 'packages')).map((d) => join(root, 'packages', d)),
  join(root, 'test'),
];
const reports = dirs.map((d) => join(d, 'test-results', 'vitest.json'));
for (const r of reports) rmSync(r, { force: true });

const turbo = (args: string[]) =>
  spawnSync('npx', ['turbo', 'run', ...args, '--output-logs=new-only'], {
    cwd: root,
    stdio: 'inherit',
    env: { ...process.env, TURBO_TELEMETRY_DISABLED: '1' },
  }).status ?? 1;

const checks = turbo(['build', 'typecheck', 'lint', 'format:check']);
let tests = 1;
if (checks === 0) {
  // One broker for every package's suite (each would otherwise start its own); KAFKA_BROKERS set means
  // the caller's cluster is used instead. Tests that need a private broker still start their own.
  const kafka = process.env.KAFKA_BROKERS ? null : await startKafka();
  if (kafka) process.env.KAFKA_BROKERS = kafka.brokers.join(',');
  try {
    tests = turbo(['test', '--concurrency=2', '--force']);
  } finally {
    await kafka?.close();
  }
}

let passed = 0;
let failed = 0;
let skipped = 0;
for (const r of reports) {
  if (!existsSync(r)) continue;
  const j = JSON.parse(readFileSync(r, 'utf8')) as {
    numPassedTests: number;
    numFailedTests: number;
    numPendingTests: number;
    numTodoTests: number;
  };
  passed += j.numPassedTests;
  failed += j.numFailedTests;
  skipped += j.numPendingTests + j.numTodoTests;
}
if (checks !== 0) console.log('typecheck or lint failed; tests not run');
if (passed + failed === 0 && checks === 0) {
  console.log('no test ran');
  process.exit(1);
}
console.log(`Tests: ${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
process.exit(checks !== 0 || tests !== 0 || failed > 0 ? 1 : 0);
