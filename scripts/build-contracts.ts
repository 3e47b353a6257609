// Compiles one Solidity file with solc-js (pinned 0.8.30 by the packages that use it) into checked-in JSON
// artifacts ({ contractName, compiler, abi, bytecode }) next to it, so tests and the demo need no compiler
// at run time. Used by `npm run build:contracts` in packages/source-ethereum and packages/demo.
import { createRequire } from 'node:module';
import { readFileSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';

const HELP = `Usage: tsx scripts/build-contracts.ts FILE.sol [--skip CONTRACT]...

Compiles FILE.sol (optimizer on, 200 runs, evmVersion cancun) and writes <Contract>.json beside it for
every contract in it, except those named with --skip (e.g. interfaces).`;

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { skip: { type: 'string', multiple: true, default: [] }, help: { type: 'boolean', short: 'h' } },
});
if (values.help || positionals.length !== 1) {
  console.log(HELP);
  process.exit(values.help ? 0 : 2);
}

interface SolcOutput {
  errors?: { severity: string; formattedMessage: string }[];
  contracts: Record<string, Record<string, { abi: unknown[]; evm: { bytecode: { object: string } } }>>;
}
const path = resolve(positionals[0]!);
const dir = dirname(path);
const source = basename(path);
// solc from the folder of the file, i.e. the package that pins it.
const solc = createRequire(join(dir, 'package.json'))('solc') as {
  compile(input: string): string;
  version(): string;
};
const input = {
  language: 'Solidity',
  sources: { [source]: { content: readFileSync(path, 'utf8') } },
  settings: {
    optimizer: { enabled: true, runs: 200 },
    evmVersion: 'cancun',
    outputSelection: { '*': { '*': ['abi', 'evm.bytecode.object'] } },
  },
};
const out = JSON.parse(solc.compile(JSON.stringify(input))) as SolcOutput;
const errors = (out.errors ?? []).filter((e) => e.severity === 'error');
if (errors.length > 0) throw new Error(errors.map((e) => e.formattedMessage).join('\n'));
for (const [name, c] of Object.entries(out.contracts[source] ?? {})) {
  if (values.skip.includes(name)) continue;
  const file = join(dir, `${name}.json`);
  const artifact = {
    contractName: name,
    compiler: `solc ${solc.version()}`,
    abi: c.abi,
    bytecode: `0x${c.evm.bytecode.object}`,
  };
  writeFileSync(file, JSON.stringify(artifact, null, 2) + '\n');
  console.log(`wrote ${file}`);
}
