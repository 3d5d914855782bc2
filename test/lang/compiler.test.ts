// The compiler: name resolution with "did you mean", statement ranges kept on the flat code,
// imports through a FileAccessor, constants folded exactly, events resolved to points.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { type CompileEnv, type FileAccessor, binaryValue, compile } from '../../src/lang/compiler';
import { Op } from '../../src/lang/code';
import { formatDiagnostic } from '../../src/lang/source';

const env: CompileEnv = {
  constants: new Map([['MSR_IA32_XFD', 0x1c4n], ['MSR_IA32_XFD_ERR', 0x1c5n], ['XFEATURE_MASK_XTILE_DATA', 0x40000n]]),
  builtins: new Map([
    ['rdmsr', { params: ['msr'], contexts: ['kernel', 'guest'] as const }],
    ['wrmsr', { params: ['msr', 'value'], contexts: ['kernel', 'guest'] as const }],
    ['ldtilecfg', { params: ['palette', 'rows', 'colsb'], optional: 2, contexts: ['kernel', 'guest', 'user'] as const }],
    ['hlt', { params: [], contexts: ['kernel', 'guest'] as const }],
  ]),
  fields: new Set(['thread', 'fpu', 'fpstate', 'xfd', 'xfd_err']),
  globals: new Map([['current', ['kernel'] as const]]),
};

function files(map: Record<string, string>): FileAccessor {
  return {
    read: (p) => map[p] ?? null,
    resolve: (from, rel) => (rel.startsWith('/') ? rel : from.replace(/[^/]*$/, '') + rel),
  };
}
function errs(src: string, extra: Record<string, string> = {}): string[] {
  return compile('/s/main.xsave', files({ '/s/main.xsave': src, ...extra }), env).diagnostics.map(formatDiagnostic);
}
function prog(src: string, extra: Record<string, string> = {}) {
  const r = compile('/s/main.xsave', files({ '/s/main.xsave': src, ...extra }), env);
  assert.deepEqual(r.diagnostics.map(formatDiagnostic), []);
  return r.program!;
}

test('unknown names are errors at their exact range, with a did-you-mean suggestion', () => {
  assert.deepEqual(errs(`fn f() {
  x = rdmsr(MSR_IA32_XDF);
  y = rdmrs(MSR_IA32_XFD);
  current->thread.fpu.fpstat->xfd = 0;
  return z;
}`), [
    "/s/main.xsave:2:13: error: unknown name 'MSR_IA32_XDF' (did you mean 'MSR_IA32_XFD'?)",
    "/s/main.xsave:3:7: error: unknown function 'rdmrs' (did you mean 'rdmsr'?)",
    "/s/main.xsave:4:23: error: unknown field 'fpstat' (did you mean 'fpstate'?)",
    "/s/main.xsave:5:10: error: unknown name 'z'",
  ]);
});

test('contexts: guest code cannot call kernel functions; globals and builtins are checked per context', () => {
  assert.deepEqual(errs(`fn kvm_run() { return 0; }
guest { fn main() { kvm_run(); x = current; } }
host q { thread t { hlt(); } }`), [
    "/s/main.xsave:2:21: error: unknown function 'kvm_run'",
    "/s/main.xsave:2:36: error: 'current' is not available in guest code",
    "/s/main.xsave:3:21: error: 'hlt' cannot be used in host user code",
  ]);
});

test('arguments: count, named arguments in any order, optional trailing ones', () => {
  const p = prog('fn f() { ldtilecfg(colsb: 64, rows: 16, palette: 1); ldtilecfg(1); wrmsr(MSR_IA32_XFD, 0); }');
  const builtins = p.functions[0]!.code.filter((i) => i.op === Op.BUILTIN).map((i) => i.b);
  assert.deepEqual(builtins, [3, 1, 2]);
  assert.deepEqual(errs('fn f() { wrmsr(1); ldtilecfg(1, 2, 3, 4); ldtilecfg(pallete: 1); }'), [
    "/s/main.xsave:1:10: error: 'wrmsr' is missing argument 'value'",
    "/s/main.xsave:1:39: error: 'ldtilecfg' takes at most 3 arguments (palette, rows, colsb)",
    "/s/main.xsave:1:53: error: 'ldtilecfg' has no parameter 'pallete' (did you mean 'palette'?)",
  ]);
});

test('every statement keeps its range; if/while keep the header range', () => {
  const p = prog('fn f(a) {\n  let x = a;\n  while (x != 0) {\n    x = x - 1;\n  }\n  return x;\n}');
  const f = p.functions[0]!;
  assert.deepEqual(f.stmts.map((s) => [s.kind, s.range.start.line, s.range.start.column, s.range.end.line, s.range.end.column]), [
    ['let', 2, 3, 2, 13], ['while', 3, 3, 3, 16], ['assign', 4, 5, 4, 15], ['return', 6, 3, 6, 12],
  ]);
  assert.deepEqual(f.locals, ['a', 'x']);
  assert.equal(f.code.filter((i) => i.op === Op.STMT).length, 4);
});

test('constants fold exactly with 64-bit wrap-around; cycles and non-constants are errors', () => {
  const p = prog('const A = 0xFFFFFFFFFFFFFFFF + 2; const B = A << 63; const C = ~0 >> 60; fn f() { return A | B | C; }');
  assert.ok(p.literals.includes(1n) && p.literals.includes(1n << 63n) && p.literals.includes(15n));
  assert.deepEqual(errs('const A = B; const B = A; fn f() { return A; }').length > 0, true);
  assert.deepEqual(errs('const A = rdmsr(1);'), ['/s/main.xsave:1:11: error: a constant must be computed from numbers and other constants']);
  assert.equal(binaryValue('<<', 1n, 64n), 1n); // x86 masks a 64-bit shift count to 6 bits
  assert.equal(binaryValue('-', 0n, 1n), (1n << 64n) - 1n);
});

test('imports load through the accessor; a missing import is an error at the path', () => {
  const p = prog('import "lib/k.xsave";\nfn f() { return helper(); }', { '/s/lib/k.xsave': 'fn helper() { return 7; }' });
  assert.deepEqual(p.files, ['/s/lib/k.xsave', '/s/main.xsave']);
  assert.deepEqual(errs('import "nope.xsave";'), ["/s/main.xsave:1:8: error: cannot read imported file '/s/nope.xsave'"]);
});

test('events resolve to a function and statement; bad events are errors', () => {
  const p = prog(`guest { fn handler() { hlt(); hlt(); } fn main() { hlt(); } }
host other { thread main { } }
events {
  external_interrupt at guest handler + 1;
  run other.main after previous on cpu1;
  preempt at line 1 hit 2;
}`);
  assert.deepEqual(p.events.map((e) => [e.kind, e.at?.fn ?? null, e.at?.stmt ?? null, e.afterPrevious, e.cpu, e.hit]),
    [['external_interrupt', 0, 1, false, 0, 1], ['run', null, null, true, 1, 1], ['preempt', 0, 0, false, 0, 2]]);
  assert.deepEqual(errs(`guest { fn h() { hlt(); } }
events {
  external_interupt at guest h;
  external_interrupt(7) at guest h + 5;
  run other.main at h;
}`), [
    "/s/main.xsave:3:3: error: unknown event 'external_interupt' (events: external_interrupt, preempt, fpu_irq, run) (did you mean 'external_interrupt'?)",
    '/s/main.xsave:4:22: error: an external interrupt vector is 32..255, not 7',
    "/s/main.xsave:4:28: error: 'h' has 1 statement; + 5 is past its end",
    "/s/main.xsave:5:7: error: unknown host process 'other'",
  ]);
});

test('the policy: the main file\'s line, or the override; a .xsave path is read from the main file\'s folder, any other name is a shipped policy', () => {
  const shipped: FileAccessor = {
    ...files({
      '/s/main.xsave': 'policy "naive";\nfn main_fn() {}\n',
      '/s/own.xsave': 'policy "mine/p.xsave";\nfn main_fn() {}\n',
      '/s/mine/p.xsave': 'fn from_mine() {}\n',
      '/k/naive.xsave': 'fn from_naive() {}\n',
      '/k/other.xsave': 'fn from_other() {}\n',
    }),
    shippedPolicies: () => new Map([['naive', '/k/naive.xsave'], ['other', '/k/other.xsave']]),
  };
  const names = (main: string, options = {}) => {
    const r = compile(main, shipped, env, options);
    assert.deepEqual(r.diagnostics.map(formatDiagnostic), []);
    return { fns: r.program!.functions.map((f) => f.name).sort(), policy: r.program!.policy, files: r.program!.files };
  };
  assert.deepEqual(names('/s/main.xsave'), {
    fns: ['from_naive', 'main_fn'], policy: { name: 'naive', file: '/k/naive.xsave', overridden: false }, files: ['/s/main.xsave', '/k/naive.xsave'],
  });
  assert.deepEqual(names('/s/own.xsave').policy, { name: 'mine/p.xsave', file: '/s/mine/p.xsave', overridden: false });
  // The override replaces the line; its relative path is read from the main file's folder too.
  assert.deepEqual(names('/s/main.xsave', { policy: 'other' }).fns, ['from_other', 'main_fn']);
  assert.deepEqual(names('/s/main.xsave', { policy: 'mine/p.xsave' }).policy, { name: 'mine/p.xsave', file: '/s/mine/p.xsave', overridden: true });
});

test('a policy that names nothing: at the policy line, or at the top of the main file naming what gave the override', () => {
  const accessor: FileAccessor = {
    ...files({ '/s/main.xsave': '// the scenario\npolicy "nope";\n', '/s/bare.xsave': 'fn f() {}\n' }),
    shippedPolicies: () => new Map([['naive', '/k/naive.xsave']]),
    refused: (p) => (p.startsWith('/outside/') ? `cannot read '${p}': it is outside the folders a scenario may read` : null),
  };
  const errors = (main: string, options = {}) => compile(main, accessor, env, options).diagnostics.map(formatDiagnostic);
  assert.deepEqual(errors('/s/main.xsave'), ["/s/main.xsave:2:1: error: unknown policy 'nope' (shipped: naive; or name a .xsave file)"]);
  assert.deepEqual(errors('/s/bare.xsave', { policy: 'x'.repeat(70), policyOrigin: '--policy' }),
    [`/s/bare.xsave:1:1: error: --policy: unknown policy '${'x'.repeat(64)}...' (shipped: naive; or name a .xsave file)`]);
  assert.deepEqual(errors('/s/bare.xsave', { policy: '/outside/p.xsave', policyOrigin: '--policy' }),
    ["/s/bare.xsave:1:1: error: --policy: policy cannot read '/outside/p.xsave': it is outside the folders a scenario may read"]);
  // No shipped policies known to the accessor: a name cannot be resolved, and says so.
  assert.deepEqual(compile('/s/main.xsave', files({ '/s/main.xsave': 'policy "naive";\n' }), env).diagnostics.map(formatDiagnostic),
    ["/s/main.xsave:1:1: error: unknown policy 'naive' (no policies are shipped in this version; or name a .xsave file)"]);
});
