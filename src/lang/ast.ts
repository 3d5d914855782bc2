// The syntax tree of a scenario file. Every node has the exact range it was parsed from; the
// compiler keeps those ranges on the flat code, so a stopped statement is always a readable line.
import type { Range } from './source';

export interface Ident {
  readonly name: string;
  readonly range: Range;
}

export type Expr =
  | { readonly kind: 'number'; readonly value: bigint; readonly text: string; readonly range: Range }
  | { readonly kind: 'bool'; readonly value: boolean; readonly range: Range }
  | { readonly kind: 'string'; readonly value: string; readonly range: Range }
  | { readonly kind: 'name'; readonly name: string; readonly range: Range }
  | { readonly kind: 'unary'; readonly op: '-' | '~' | '!'; readonly operand: Expr; readonly range: Range }
  | { readonly kind: 'binary'; readonly op: BinaryOp; readonly left: Expr; readonly right: Expr; readonly range: Range }
  | { readonly kind: 'conditional'; readonly test: Expr; readonly then: Expr; readonly otherwise: Expr; readonly range: Range }
  | { readonly kind: 'call'; readonly callee: Ident; readonly args: Arg[]; readonly range: Range }
  /** `a->b` and `a.b` mean the same (DESIGN §5); `arrow` records which was written. */
  | { readonly kind: 'field'; readonly object: Expr; readonly field: Ident; readonly arrow: boolean; readonly range: Range }
  | { readonly kind: 'index'; readonly object: Expr; readonly index: Expr; readonly range: Range };

export type BinaryOp =
  | '*' | '/' | '%' | '+' | '-' | '<<' | '>>' | '<' | '<=' | '>' | '>=' | '==' | '!=' | '&' | '^' | '|' | '&&' | '||';

export interface Arg {
  /** `name: value` arguments, as in `ldtilecfg(palette: 1, rows: 16, colsb: 64)`. */
  readonly name: Ident | null;
  readonly value: Expr;
  readonly range: Range;
}

export type AssignOp = '=' | '|=' | '&=' | '^=' | '+=' | '-=' | '*=' | '/=' | '%=' | '<<=' | '>>=';

export type Stmt =
  | { readonly kind: 'let'; readonly name: Ident; readonly init: Expr; readonly range: Range }
  | { readonly kind: 'assign'; readonly target: Expr; readonly op: AssignOp; readonly value: Expr; readonly range: Range }
  | { readonly kind: 'expr'; readonly expr: Expr; readonly range: Range }
  | { readonly kind: 'if'; readonly test: Expr; readonly then: Block; readonly otherwise: Block | null; readonly range: Range }
  | { readonly kind: 'while'; readonly test: Expr; readonly body: Block; readonly range: Range }
  | { readonly kind: 'return'; readonly value: Expr | null; readonly range: Range }
  | { readonly kind: 'break'; readonly range: Range }
  | { readonly kind: 'continue'; readonly range: Range }
  | { readonly kind: 'assert'; readonly test: Expr; readonly message: string; readonly range: Range }
  | { readonly kind: 'spawn'; readonly thread: Ident; readonly range: Range };

export interface Block {
  readonly stmts: Stmt[];
  readonly range: Range;
}

export interface FnDecl {
  readonly kind: 'fn';
  readonly name: Ident;
  readonly params: Ident[];
  readonly body: Block;
  readonly range: Range;
}

export interface ConstDecl {
  readonly kind: 'const';
  readonly name: Ident;
  readonly value: Expr;
  readonly range: Range;
}

export interface ThreadDecl {
  readonly kind: 'thread';
  readonly name: Ident;
  readonly body: Block;
  readonly range: Range;
}

/** Where an event happens: a function's entry (or its n-th statement), or a line of this file. */
export type Point =
  | {
    readonly kind: 'function';
    /** 'guest', 'host' or null (any context with that function). */
    readonly context: 'guest' | 'host' | null;
    /** `proc.thread` for a host thread body, or a function name. */
    readonly scope: Ident | null;
    readonly name: Ident;
    /** `+ n`: before the n-th statement (0 = the first); null: function entry. */
    readonly offset: number | null;
    readonly range: Range;
  }
  | { readonly kind: 'line'; readonly line: number; readonly range: Range };

export interface EventDecl {
  readonly kind: 'event';
  /** external_interrupt, preempt, fpu_irq, run (validated by the semantic pass). */
  readonly event: Ident;
  readonly args: Arg[];
  /** `run proc.thread`: what to run. */
  readonly target: { readonly process: Ident; readonly thread: Ident } | null;
  readonly trigger: { readonly kind: 'at'; readonly point: Point } | { readonly kind: 'after-previous'; readonly range: Range };
  readonly cpu: Ident | null;
  /** `hit n`: the n-th time the point is reached (1 = the first). */
  readonly hit: number | null;
  readonly range: Range;
}

export type Item =
  | { readonly kind: 'cpu'; readonly model: string; readonly range: Range; /** The model's "string" alone. */ readonly modelRange: Range }
  /** `deviation "invariant" "text" "why";`: a policy's known deviation from bare metal. */
  | { readonly kind: 'deviation'; readonly invariant: string; readonly invariantRange: Range; readonly match: string; readonly why: string; readonly range: Range }
  /** `cpus 2;`: how many physical CPUs the machine has. */
  | { readonly kind: 'cpus'; readonly count: number; readonly range: Range }
  | { readonly kind: 'policy'; readonly policy: string; readonly range: Range }
  | { readonly kind: 'import'; readonly path: string; readonly pathRange: Range; readonly range: Range }
  | ConstDecl
  | FnDecl
  | { readonly kind: 'guest'; readonly items: Array<FnDecl | ConstDecl>; readonly range: Range }
  | { readonly kind: 'host'; readonly name: Ident; readonly threads: ThreadDecl[]; readonly fns: FnDecl[]; readonly range: Range }
  | { readonly kind: 'events'; readonly events: EventDecl[]; readonly range: Range };

export interface ScenarioFile {
  readonly file: string;
  readonly items: Item[];
}
