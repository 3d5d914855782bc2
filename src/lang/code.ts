// The compiled form of a scenario: flat per-function code for a small stack machine, plain data
// (it is part of what the engine snapshots). Every statement starts with a STMT op that names the
// statement's source range, so the engine stops on readable lines and a faulting instruction can
// restart exactly where it was.
import type { Range } from './source';

export const enum Op {
  /** a = statement index in fn.stmts. A step ends before the next STMT. */
  STMT = 0,
  /** a = index into program.literals */
  PUSH = 1,
  LOAD = 2, // a = local slot
  STORE = 3, // a = local slot (pops)
  GLOBAL = 4, // a = index into program.names: a global the engine provides (current, vcpu, ...)
  FIELD = 5, // a = index into program.names; pops object, pushes field value
  STORE_FIELD = 6, // a = name; pops value, then object
  INDEX = 7, // pops index, object
  STORE_INDEX = 8, // pops value, index, object
  UNARY = 9, // a = UnaryCode
  BINARY = 10, // a = BinaryCode
  JUMP = 11, // a = target pc
  JUMP_IF_FALSE = 12, // a = target pc; pops
  CALL = 13, // a = function index, b = argc
  BUILTIN = 14, // a = builtin index (program.builtins), b = argc
  RETURN = 15, // pops the return value
  POP = 16,
  ASSERT = 17, // a = index into program.names (the message); pops the condition
  SPAWN = 18, // a = index into program.names (thread name)
  TO_BOOL = 19,
  DUP = 20,
}

export const UNARY_CODES = ['-', '~', '!'] as const;
export const BINARY_CODES = ['*', '/', '%', '+', '-', '<<', '>>', '<', '<=', '>', '>=', '==', '!=', '&', '^', '|'] as const;

export interface Instr {
  readonly op: Op;
  readonly a: number;
  readonly b: number;
}

export type Context = 'kernel' | 'user' | 'guest';

export interface StmtInfo {
  readonly range: Range;
  readonly file: string;
  /** The kind of statement ('assign', 'if', 'while', ...), for stop reasons. */
  readonly kind: string;
}

export interface CompiledFn {
  /** Display name: `kvm_run`, `guest:exc_device_not_available`, `qemu.vcpu0` for a thread body. */
  readonly name: string;
  /** The name code calls it by. */
  readonly shortName: string;
  readonly context: Context;
  /** Host process for user code; null otherwise. */
  readonly process: string | null;
  readonly params: string[];
  readonly locals: string[];
  readonly code: Instr[];
  readonly stmts: StmtInfo[];
  readonly file: string;
  readonly range: Range;
  readonly isThread: boolean;
}

export interface ResolvedPoint {
  readonly fn: number;
  /** Statement index within the function (0 = entry). */
  readonly stmt: number;
  readonly range: Range;
}

export interface CompiledEvent {
  readonly kind: 'external_interrupt' | 'preempt' | 'fpu_irq' | 'run';
  readonly vector: number;
  readonly target: { process: string; thread: string } | null;
  readonly at: ResolvedPoint | null;
  readonly afterPrevious: boolean;
  readonly cpu: number;
  /** Whether the event said `on cpuN` (else cpu is 0 by default). */
  readonly cpuExplicit: boolean;
  readonly hit: number;
  readonly range: Range;
  readonly file: string;
}

/** The policy a program was compiled with: what named it, and the file that name resolved to. */
export interface ChosenPolicy {
  /** As written: a shipped policy's name (`linux-5.17`) or a .xsave path. */
  readonly name: string;
  /** The file compiled. */
  readonly file: string;
  /** True when a launch attribute or --policy chose it instead of the main file's `policy` line. */
  readonly overridden: boolean;
}

export interface Program {
  readonly functions: CompiledFn[];
  /** Literal values (64-bit integers) used by PUSH. */
  readonly literals: bigint[];
  /** Names used by GLOBAL, FIELD, ASSERT and SPAWN. */
  readonly names: string[];
  /** Builtin names used by BUILTIN, by index. */
  readonly builtins: string[];
  readonly processes: Array<{ name: string; threads: Array<{ name: string; fn: number }> }>;
  readonly events: CompiledEvent[];
  readonly cpuModel: string | null;
  /** Where the `cpu` line's model string is, for errors about the model it names. */
  readonly cpuAt: { readonly file: string; readonly range: Range } | null;
  /** The policy compiled in (the main file's `policy` line, or the override that replaced it), or null. */
  readonly policy: ChosenPolicy | null;
  /** Known deviations the policy declares: violations of `invariant` whose text contains `match`. */
  readonly deviations: ReadonlyArray<{ readonly invariant: string; readonly match: string; readonly why: string; readonly file: string; readonly line: number }>;
  /** `cpus N;` of the main file, or null. */
  readonly cpus: number | null;
  readonly files: string[];
  /** The values of the scenario's and the policy's `const`s: kernel/user ones, and the guest block's. */
  readonly constants: { readonly kernel: ReadonlyMap<string, bigint>; readonly guest: ReadonlyMap<string, bigint> };
}
