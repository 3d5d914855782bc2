// What hovering a word of a scenario shows: a constant's exact value (an MSR's name, a mask's
// decoded components), or a builtin's signature and documentation from docs/language.md.
// Plain TypeScript without 'vscode', so it is tested under Node.
import { decodeMask, formatMask, msrName } from '../model';
import { BUILTINS } from '../sim/builtins';
import { CONSTANTS } from '../sim/constants';
import { BUILTIN_DOCS } from './builtin-docs';

/** Hover text for a word of a scenario: a constant's exact value, an MSR, a builtin's signature. */
export function hoverText(word: string): string | null {
  const v = CONSTANTS.get(word);
  if (v !== undefined) {
    const lines = [`\`${word}\` = \`0x${v.toString(16)}\` (${v.toString(10)})`];
    if (word.startsWith('MSR_')) lines.push(`MSR ${msrName(Number(v))}`);
    else if (/MASK|^XCR0|XFEATURES?_/.test(word) && v !== 0n && decodeMask(v).length) lines.push(`mask ${formatMask(v)}`);
    return lines.join('\n\n');
  }
  const b = BUILTIN_DOCS.get(word);
  if (b) return `\`${b.signature}\`\n\nRuns in: ${b.where}\n\n${b.what}`;
  const def = BUILTINS[word];
  if (def) return `\`${word}(${def.params.join(', ')})\``;
  return null;
}

