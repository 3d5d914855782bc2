// Documentation of the language's builtins for hovers and completion, read from the builtins table
// of docs/language.md (bundled as text), so the editor and the documentation say the same thing.
import languageDoc from '../../docs/language.md';

export interface BuiltinDoc {
  readonly signature: string;
  readonly where: string;
  readonly what: string;
}

const WHERE: Record<string, string> = { K: 'host kernel', G: 'guest', U: 'host user' };

function parse(md: string): Map<string, BuiltinDoc> {
  const out = new Map<string, BuiltinDoc>();
  const section = md.slice(md.indexOf('## Builtins'));
  for (const line of section.split('\n')) {
    const cells = line.split('|').map((c) => c.trim());
    if (cells.length < 5 || !cells[1]!.startsWith('`')) continue;
    // "K G (xgetbv: U too)" -> "host kernel, guest (xgetbv: host user too)": a list a reader can parse.
    const where = cells[2]!.replace(/\b[KGU]( [KGU]\b)+/g, (run) => run.split(' ').map((k) => WHERE[k] ?? k).join(', '))
      .replace(/\b[KGU]\b/g, (k) => WHERE[k] ?? k);
    for (const m of cells[1]!.matchAll(/`([^`]+)`/g)) {
      const sig = m[1]!;
      // `xsave/xsaveopt/xsavec/xsaves(buffer [, mask])` documents four names.
      const names = /^([\w/]+)\(/.exec(sig)?.[1]?.split('/') ?? [];
      const params = sig.slice(sig.indexOf('('));
      for (const n of names) out.set(n, { signature: `${n}${params}`, where, what: cells[3]! });
    }
  }
  return out;
}

export const BUILTIN_DOCS: ReadonlyMap<string, BuiltinDoc> = parse(languageDoc);
