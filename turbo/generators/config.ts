// `turbo gen source`: scaffolds packages/source-<name>, a working source package (HTTP polling of trades,
// offsets, retries, a secret, dead letters) with its conformance suite and a crash test through the real
// worker. Non-interactive: `npx turbo gen source --args <name> "<description>"`. The guide is
// docs/adding-a-source.md.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { PlopTypes } from '@turbo/gen';

function validateName(root: string, input: unknown): true | string {
  const name = String(input ?? '');
  // The conformance suite requires this shape of `type`; it also makes a valid npm name and folder.
  if (!/^[a-z][a-z0-9-]{1,40}$/.test(name))
    return 'lowercase letters, digits and "-", starting with a letter (2-41 characters), e.g. kraken';
  // Every built-in type lives in packages/source-<type>, so this also refuses the runtime's own names.
  if (existsSync(join(root, 'packages', `source-${name}`))) return `packages/source-${name} already exists`;
  return true;
}

function validateDescription(input: unknown): true | string {
  const text = String(input ?? '');
  // The conformance suite asks for more than ten characters: a line an operator can act on.
  if (text.trim().length <= 10) return 'one line, more than 10 characters, e.g. "Kraken public trades"';
  // It lands verbatim in a TS string, a comment and Markdown: no quotes, backslashes or line breaks.
  if (/['"`\\\n\r]/.test(text)) return 'no quotes, backticks, backslashes or line breaks';
  return true;
}

export default function generator(plop: PlopTypes.NodePlopAPI): void {
  // The plopfile path is this folder (turbo/generators): the repository root is two levels up.
  const root = join(plop.getPlopfilePath(), '..', '..');
  plop.setGenerator('source', {
    description: 'A new source package: packages/source-<name> with conformance and crash tests',
    prompts: [
      {
        type: 'input',
        name: 'name',
        message: 'Source type (what operators write as `type`, e.g. kraken):',
        validate: (input: unknown) => validateName(root, input),
      },
      {
        type: 'input',
        name: 'description',
        message: 'One-line description (what it reads):',
        validate: validateDescription,
      },
    ],
    actions: [
      {
        type: 'addMany',
        destination: '{{ turbo.paths.root }}/packages/source-{{ name }}',
        base: 'templates/source',
        templateFiles: 'templates/source/**/*.hbs',
        stripExtensions: ['hbs'],
        // Required by the action's type; the templates hold no dotfiles.
        globOptions: { dot: false },
      },
      (answers) => {
        // The templates are formatted already, but a long name can move a line past printWidth: format
        // the package with the repository's Prettier config so `prettier --check .` stays green.
        const dir = join(root, 'packages', `source-${String(answers.name)}`);
        execFileSync('npx', ['prettier', '--write', '--log-level', 'warn', dir], {
          cwd: root,
          stdio: 'inherit',
        });
        return `formatted packages/source-${String(answers.name)}`;
      },
      () =>
        'Next: `npm install` (links the new workspace), then register the type in ' +
        'packages/runtime/src/registry.ts (BUILTIN_SOURCES) or `worker.plugins`: see docs/adding-a-source.md',
    ],
  });
}
