// The scenario language's lexer and parser: every construct, exact ranges, and recovery so that
// one file reports all its errors (issue: the scenario language; docs/language.md).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { lex } from '../../src/lang/lexer';
import { parse } from '../../src/lang/parser';
import type { Expr, FnDecl, Item, Stmt } from '../../src/lang/ast';
import { formatDiagnostic } from '../../src/lang/source';

function ok(text: string) {
  const r = parse('t.xsave', text);
  assert.deepEqual(r.diagnostics.map(formatDiagnostic), []);
  return r.ast;
}
function errors(text: string): string[] {
  return parse('t.xsave', text).diagnostics.map(formatDiagnostic);
}
function fnBody(text: string): Stmt[] {
  const f = ok(`fn f() { ${text} }`).items[0] as FnDecl;
  return f.body.stmts;
}
function exprOf(text: string): Expr {
  const s = fnBody(`${text};`)[0]!;
  assert.equal(s.kind, 'expr');
  return (s as Extract<Stmt, { kind: 'expr' }>).expr;
}
/** Fully parenthesized rendering, to check precedence and associativity. */
function show(e: Expr): string {
  switch (e.kind) {
    case 'number': return e.value.toString();
    case 'bool': return String(e.value);
    case 'string': return JSON.stringify(e.value);
    case 'name': return e.name;
    case 'unary': return `(${e.op}${show(e.operand)})`;
    case 'binary': return `(${show(e.left)} ${e.op} ${show(e.right)})`;
    case 'conditional': return `(${show(e.test)} ? ${show(e.then)} : ${show(e.otherwise)})`;
    case 'call': return `${e.callee.name}(${e.args.map((a) => (a.name ? a.name.name + ': ' : '') + show(a.value)).join(', ')})`;
    case 'field': return `${show(e.object)}${e.arrow ? '->' : '.'}${e.field.name}`;
    case 'index': return `${show(e.object)}[${show(e.index)}]`;
  }
}

test('literals: decimal, hex and binary with _ separators are exact 64-bit values; wider ones are errors', () => {
  const t = lex('t', '18446744073709551615 0xFFFF_FFFF_FFFF_FFFF 0b1000 0x8000000000000000').tokens;
  assert.deepEqual(t.slice(0, 4).map((x) => x.value), [(1n << 64n) - 1n, (1n << 64n) - 1n, 8n, 1n << 63n]);
  assert.deepEqual(lex('t', '0x1_0000_0000_0000_0000').diagnostics.map((d) => [d.range.start.column, d.range.end.column, d.message]),
    [[1, 24, 'integer literal 0x1_0000_0000_0000_0000 does not fit in 64 bits']]);
  assert.deepEqual(lex('t', 'x = 0b102;').diagnostics.map((d) => [d.range.start.column, d.range.end.column, d.message]),
    [[5, 10, "malformed integer literal '0b102' (write decimal, 0x hex or 0b binary)"]]);
});

test('C precedence and left associativity of the binary operators; unary binds tighter; ?: loosest', () => {
  assert.equal(show(exprOf('a | b ^ c & d == e < f << g + h * i')), '(a | (b ^ (c & (d == (e < (f << (g + (h * i))))))))');
  assert.equal(show(exprOf('a - b - c')), '((a - b) - c)');
  assert.equal(show(exprOf('a || b && c')), '(a || (b && c))');
  assert.equal(show(exprOf('~a & -b | !c')), '(((~a) & (-b)) | (!c))');
  assert.equal(show(exprOf('a ? b : c ? d : e')), '(a ? b : (c ? d : e))');
  assert.equal(show(exprOf('(a | b) & c')), '((a | b) & c)');
  assert.equal(show(exprOf('vcpu->arch.guest_fpu.fpstate->xfd')), 'vcpu->arch.guest_fpu.fpstate->xfd');
  assert.equal(show(exprOf('ldtilecfg(palette: 1, rows: 16, colsb: 64)')), 'ldtilecfg(palette: 1, rows: 16, colsb: 64)');
  assert.equal(show(exprOf('tile[2]')), 'tile[2]');
});

test('statements: let, assignment and compound assignment, if/else if/else, while, return, break, continue, assert, spawn', () => {
  const s = fnBody(`
    let x = 1;
    x |= XFEATURE_MASK_XTILEDATA;
    current->thread.fpu.fpstate->xfd = 0;
    if (x) { return; } else if (y) { break; } else { continue; }
    while (kvm_run() != KVM_EXIT_HLT) {}
    assert(err == 0x40000, "guest lost its XFD_ERR");
    spawn vcpu0;
    return x + 1;`);
  assert.deepEqual(s.map((x) => x.kind), ['let', 'assign', 'assign', 'if', 'while', 'assert', 'spawn', 'return']);
  assert.equal((s[1] as Extract<Stmt, { kind: 'assign' }>).op, '|=');
  const iff = s[3] as Extract<Stmt, { kind: 'if' }>;
  assert.equal(iff.otherwise!.stmts[0]!.kind, 'if');
  assert.equal((s[5] as Extract<Stmt, { kind: 'assert' }>).message, 'guest lost its XFD_ERR');
});

test('items: cpu, policy, import, const, fn, guest, host with threads and functions, events', () => {
  const ast = ok(`
cpu "sapphire-rapids";
policy "linux-5.17";
import "policies/common.xsave";
const MY_MASK = 0x60000;
fn kvm_run() { return 0; }
guest { const G = 1; fn main() { hlt(); } }
host qemu { thread main { spawn vcpu0; } thread vcpu0 { } fn helper(a, b) { } }
events {
  external_interrupt at guest exc_device_not_available;
  external_interrupt(32) at guest main + 2 hit 3;
  run other.main after previous on cpu0;
  fpu_irq at line 12;
  preempt at host qemu.vcpu0 + 1;
}`);
  assert.deepEqual(ast.items.map((i: Item) => i.kind), ['cpu', 'policy', 'import', 'const', 'fn', 'guest', 'host', 'events']);
  const host = ast.items[6] as Extract<Item, { kind: 'host' }>;
  assert.deepEqual(host.threads.map((t) => t.name.name), ['main', 'vcpu0']);
  assert.deepEqual(host.fns[0]!.params.map((p) => p.name), ['a', 'b']);
  const ev = (ast.items[7] as Extract<Item, { kind: 'events' }>).events;
  assert.equal(ev.length, 5);
  assert.deepEqual(ev[0]!.trigger, { kind: 'at', point: { ...((ev[0]!.trigger as { point: unknown }).point as object), context: 'guest', offset: null } });
  const p1 = (ev[1]!.trigger as { kind: 'at'; point: Extract<import('../../src/lang/ast').Point, { kind: 'function' }> }).point;
  assert.deepEqual([p1.context, p1.name.name, p1.offset, ev[1]!.hit, show(ev[1]!.args[0]!.value)], ['guest', 'main', 2, 3, '32']);
  assert.deepEqual([ev[2]!.target!.process.name, ev[2]!.target!.thread.name, ev[2]!.trigger.kind, ev[2]!.cpu!.name], ['other', 'main', 'after-previous', 'cpu0']);
  assert.equal((ev[3]!.trigger as { point: { kind: string; line: number } }).point.line, 12);
  const p4 = (ev[4]!.trigger as { point: { scope: { name: string }; name: { name: string }; context: string } }).point;
  assert.deepEqual([p4.context, p4.scope.name, p4.name.name], ['host', 'qemu', 'vcpu0']);
});

test('every node carries its exact range (1-based line and column, end exclusive)', () => {
  const ast = ok('fn f() {\n  x = rdmsr(MSR_IA32_XFD_ERR) & 0x40000;\n}\n');
  const f = ast.items[0] as FnDecl;
  assert.deepEqual([f.range.start.line, f.range.start.column, f.range.end.line, f.range.end.column], [1, 1, 3, 2]);
  const a = f.body.stmts[0] as Extract<Stmt, { kind: 'assign' }>;
  const r = (x: { range: { start: { line: number; column: number }; end: { line: number; column: number } } }) =>
    [x.range.start.line, x.range.start.column, x.range.end.line, x.range.end.column];
  assert.deepEqual(r(a), [2, 3, 2, 41]);
  const and = a.value as Extract<Expr, { kind: 'binary' }>;
  assert.deepEqual(r(and), [2, 7, 2, 40]);
  assert.deepEqual(r(and.left), [2, 7, 2, 30]);
  assert.deepEqual(r(and.right), [2, 33, 2, 40]);
  assert.equal(and.left.range.start.offset, 15);
});

test('recovery: one file reports all its errors, each at its exact position, in file order', () => {
  assert.deepEqual(errors(`cpu sapphire;
fn f(a, ) {
  x = 1 +;
  if x { }
  while (1) { z = 3 }
  y = 0x;
}
guest { thread t {} }
events { external_interrupt guest f; preempt at host f hit 0; }
fn g() { f(1) = 2; @ }`), [
    `t.xsave:1:5: error: expected a CPU model name (a "string"), found 'sapphire'`,
    "t.xsave:2:9: error: expected a parameter name, found ')'",
    "t.xsave:3:10: error: expected an expression, found ';'",
    "t.xsave:4:6: error: expected '(' after 'if', found 'x'",
    "t.xsave:5:21: error: expected ';' after the assignment, found '}'",
    "t.xsave:6:7: error: malformed integer literal '0x' (write decimal, 0x hex or 0b binary)",
    "t.xsave:8:9: error: expected 'fn' or 'const' in the guest block, found 'thread'",
    "t.xsave:9:29: error: expected 'at <point>' or 'after previous' in the event, found 'guest'",
    't.xsave:9:60: error: hit counts start at 1',
    't.xsave:10:10: error: the left side of an assignment must be a variable or a field',
    "t.xsave:10:20: error: unexpected character '@'",
  ]);
});

test('unterminated strings and comments, unknown escapes', () => {
  assert.deepEqual(errors('fn f() { assert(1, "abc); }'), [
    't.xsave:1:20: error: unterminated string: missing closing "',
    "t.xsave:1:28: error: expected ')' after the assertion message, found the end of the file",
  ]);
  assert.deepEqual(errors('/* open\n\n'), ['t.xsave:1:1: error: unterminated comment: /* has no closing */']);
  assert.deepEqual(errors('fn f() { assert(1, "a\\qb"); }'), ["t.xsave:1:22: error: unknown escape '\\q' in string (use \\n, \\t, \\\" or \\\\)"]);
});

test('keywords are not names; a call needs a name', () => {
  assert.deepEqual(errors('fn while() {}'), ["t.xsave:1:4: error: expected a function name, found 'while' (a keyword)"]);
  assert.deepEqual(errors('fn f() { g(1)(2); }'), ['t.xsave:1:14: error: only a function or builtin name can be called']);
  // Declaration and event words are contextual: usable as names and fields.
  ok('fn f(cpu, line) { let thread = current->thread.fpu; at = cpu + line; }');
});
