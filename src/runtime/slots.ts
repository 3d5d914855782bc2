// A slot is the storage a value shown by the debugger lives in: a local of a frame, a register or
// MSR of a CPU, a field of a kernel object, or bytes of machine memory or of a register image. Edits
// (setVariable, setExpression, an assignment in the Debug Console) write a slot; a data breakpoint
// watches one. The Variables view gives each child its slot; an expression gives one through its
// place (src/sim/expression.ts, placeOf).
import type { ExprContext, Place, RegisterName } from '../sim/expression';
import type { MemoryRef } from './memory-references';

/** The storage a variable shows: what setVariable writes and a data breakpoint watches. */
export type Slot =
  | { kind: 'local'; thread: number; frame: number; index: number }
  | { kind: 'register'; cpu: number; name: RegisterName | 'CR0.TS' }
  | { kind: 'field'; object: number; field: string }
  | { kind: 'bytes'; mem: MemoryRef; size: number; name: string };

/** The slot of an expression's place, evaluated in `ctx` (a local is the frame `ctx` stands in). */
export function slotOfPlace(p: Place, ctx: ExprContext): Slot {
  switch (p.kind) {
    case 'local': {
      const th = ctx.thread!;
      const frame = th.frames.findIndex((f) => f.locals === ctx.locals?.values);
      return { kind: 'local', thread: th.id, frame, index: p.index };
    }
    case 'register': return { kind: 'register', cpu: p.cpu, name: p.name };
    case 'field': return { kind: 'field', object: p.object, field: p.field };
  }
}
