// Field descriptions from the `/** */` comments on the zod schemas' fields. TypeScript carries those
// comments into the types zod infers (that is what an editor shows on hover in connectors.config.ts), so
// the compiler finds each field's comment by walking the inferred config type along the field's path.
// One source of truth for hover docs and this reference; `.describe()` texts, where present, win.
import { join } from 'node:path';
import ts from 'typescript';
import type { Step } from './fields.ts';

export interface ConfigTypes {
  /** The comment on the field at `steps` in the config type named `name`, or '' when it has none. */
  describe(name: string, steps: Step[]): string;
}

/**
 * `modules`: a type name -> an expression in a virtual module whose `z.output<...>` is the config type,
 * with the imports it needs, e.g. `{ runtime: { import: "import type { rootSchema } from '...'", schema:
 * 'rootSchema' } }`.
 */
export function loadConfigTypes(
  root: string,
  modules: Record<string, { import: string; schema: string }>,
): ConfigTypes {
  const file = join(root, 'scripts', 'config-reference', '__config_types__.ts');
  const text = [
    "import type { z } from 'zod';",
    ...Object.values(modules).map((m) => m.import),
    ...Object.entries(modules).map(
      ([name, m]) => `export type ${alias(name)} = z.output<typeof ${m.schema}>;`,
    ),
  ].join('\n');
  const parsed = ts.getParsedCommandLineOfConfigFile(join(root, 'tsconfig.json'), undefined, {
    ...ts.sys,
    onUnRecoverableConfigFileDiagnostic: (d) => {
      throw new Error(ts.flattenDiagnosticMessageText(d.messageText, '\n'));
    },
  });
  if (!parsed) throw new Error('cannot read tsconfig.json');
  const options = { ...parsed.options, noEmit: true };
  const host = ts.createCompilerHost(options);
  // The module exists only in memory: nothing is written next to the scripts.
  const getSourceFile = host.getSourceFile.bind(host);
  host.getSourceFile = (name, lang, ...rest) =>
    name === file ? ts.createSourceFile(name, text, lang) : getSourceFile(name, lang, ...rest);
  const fileExists = host.fileExists.bind(host);
  host.fileExists = (name) => name === file || fileExists(name);
  const program = ts.createProgram([file], options, host);
  const checker = program.getTypeChecker();
  const source = program.getSourceFile(file)!;
  const types = new Map<string, ts.Type>();
  for (const st of source.statements)
    if (ts.isTypeAliasDeclaration(st)) types.set(st.name.text, checker.getTypeAtLocation(st.name));

  const objectMembers = (t: ts.Type): ts.Type[] => {
    const nn = checker.getNonNullableType(t);
    return (nn.isUnion() ? nn.types : [nn]).filter((m) => (m.getFlags() & ts.TypeFlags.Object) !== 0);
  };

  const literalOf = (t: ts.Type): unknown =>
    t.isLiteral()
      ? t.value
      : t.getFlags() & ts.TypeFlags.BooleanLiteral
        ? checker.typeToString(t) === 'true'
        : undefined;

  const step = (t: ts.Type, s: Step): { type: ts.Type; symbol?: ts.Symbol } | undefined => {
    if ('items' in s) {
      const array = objectMembers(t).find((m) => checker.isArrayType(m));
      const item = array && checker.getTypeArguments(array as ts.TypeReference)[0];
      return item ? { type: item } : undefined;
    }
    if ('variant' in s) {
      const match = Object.entries(s.variant);
      const member = objectMembers(t).find(
        (m) =>
          !checker.isArrayType(m) &&
          match.every(([k, v]) => {
            const p = checker.getPropertyOfType(m, k);
            return p !== undefined && literalOf(checker.getTypeOfSymbol(p)) === v;
          }),
      );
      return member ? { type: member } : undefined;
    }
    for (const m of objectMembers(t)) {
      const symbol = checker.getPropertyOfType(m, s.prop);
      if (symbol) return { type: checker.getTypeOfSymbol(symbol), symbol };
    }
    return undefined;
  };

  return {
    describe(name, steps) {
      let at: { type: ts.Type; symbol?: ts.Symbol } | undefined = { type: types.get(alias(name))! };
      for (const s of steps) {
        at = at && step(at.type, s);
        if (!at) return '';
      }
      return at.symbol ? commentOf(at.symbol, checker) : '';
    },
  };
}

/** The comment as written. TypeScript's own rendering would cut it at anything that looks like a JSDoc
 * tag, such as the `@hubspot` of a package name. */
function commentOf(symbol: ts.Symbol, checker: ts.TypeChecker): string {
  for (const decl of symbol.declarations ?? []) {
    const docs = ts.getJSDocCommentsAndTags(decl).filter(ts.isJSDoc);
    if (docs.length)
      return docs
        .map((d) =>
          d
            .getText()
            .replace(/^\/\*\*|\*\/$/g, '')
            .replace(/^\s*\* ?/gm, ''),
        )
        .join(' ');
  }
  return ts.displayPartsToString(symbol.getDocumentationComment(checker));
}

function alias(name: string): string {
  return `Config_${name.replace(/[^A-Za-z0-9]/g, '_')}`;
}
