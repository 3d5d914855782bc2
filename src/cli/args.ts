// A small command-line parser for xsave-sim: `--name value` and `--name=value` options, flags,
// and positional arguments, with errors that name the offending argument. Values such as masks
// are parsed here too, exactly (bigint), so "--xcr0 0x8000000000000001" keeps bit 63.

export class UsageError extends Error {
  override name = 'UsageError';
}

export interface ParsedArgs {
  positional: string[];
  options: Map<string, string>;
  flags: Set<string>;
}

/** `valued` lists the options that take a value; `flags` the ones that do not. */
export function parseArgs(argv: string[], valued: string[], flags: string[]): ParsedArgs {
  const out: ParsedArgs = { positional: [], options: new Map(), flags: new Set() };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (!a.startsWith('--')) { out.positional.push(a); continue; }
    const eq = a.indexOf('=');
    const name = (eq >= 0 ? a.slice(2, eq) : a.slice(2));
    if (flags.includes(name)) {
      if (eq >= 0) throw new UsageError(`option --${name} takes no value`);
      out.flags.add(name);
    } else if (valued.includes(name)) {
      const v = eq >= 0 ? a.slice(eq + 1) : argv[++i];
      if (v === undefined || v === '') throw new UsageError(`option --${name} needs a value`);
      out.options.set(name, v);
    } else {
      throw new UsageError(`unknown option --${name}`);
    }
  }
  return out;
}

/** A 64-bit mask written in hex (0x...), binary (0b...) or decimal; underscores allowed. */
export function parseMask(option: string, text: string): bigint {
  const t = text.replace(/_/g, '');
  if (!/^(0x[0-9a-f]+|0b[01]+|[0-9]+)$/i.test(t)) throw new UsageError(`--${option}: '${text}' is not a number (use 0x..., 0b... or decimal)`);
  const v = BigInt(t);
  if (v >= 1n << 64n) throw new UsageError(`--${option}: ${text} does not fit in 64 bits`);
  return v;
}
