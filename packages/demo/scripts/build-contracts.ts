// Compiles contracts/DemoTokens.sol with solc-js (pinned 0.8.30) into checked-in JSON artifacts
// ({ abi, bytecode }) so `npm start` needs no compiler. Run after editing the .sol: npm run build:contracts
import { createRequire } from 'node:module';
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

interface SolcOutput {
  errors?: { severity: string; formattedMessage: string }[];
  contracts: Record<string, Record<string, { abi: unknown[]; evm: { bytecode: { object: string } } }>>;
}
const solc = createRequire(import.meta.url)('solc') as { compile(input: string): string; version(): string };

const dir = join(dirname(fileURLToPath(import.meta.url)), '..', 'contracts');
const input = {
  language: 'Solidity',
  sources: { 'DemoTokens.sol': { content: readFileSync(join(dir, 'DemoTokens.sol'), 'utf8') } },
  settings: {
    optimizer: { enabled: true, runs: 200 },
    evmVersion: 'cancun',
    outputSelection: { '*': { '*': ['abi', 'evm.bytecode.object'] } },
  },
};
const out = JSON.parse(solc.compile(JSON.stringify(input))) as SolcOutput;
const errors = (out.errors ?? []).filter((e) => e.severity === 'error');
if (errors.length > 0) throw new Error(errors.map((e) => e.formattedMessage).join('\n'));
for (const [name, c] of Object.entries(out.contracts['DemoTokens.sol'] ?? {})) {
  if (name === 'IERC20From') continue;
  const file = join(dir, `${name}.json`);
  writeFileSync(
    file,
    JSON.stringify(
      {
        contractName: name,
        compiler: `solc ${solc.version()}`,
        abi: c.abi,
        bytecode: `0x${c.evm.bytecode.object}`,
      },
      null,
      2,
    ) + '\n',
  );
  console.log(`wrote ${file}`);
}
