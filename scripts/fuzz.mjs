// The hostile-input fuzzer: `npm run fuzz -- --seconds N --seed S [--only dap|scenario] [--jobs J]`.
// Two seeded fuzzers share the time: a DAP fuzzer that drives `node dist/adapter.js` with random
// request sequences (valid, missing, null, wrong-typed and oversized arguments, in any order), and a
// scenario mutator that runs mutated examples through `node dist/cli.js run` / `explore`. Every
// outcome is put in a class; the bad classes are crash, hang, stack-trace, raw-exception,
// internal-error, host-file (a canary file's contents or /etc/passwd echoed) and bad-diagnostic
// (an error line that is not `file:line:col: error: message`). It prints the counts by class, keeps
// a reproducer of the first case of each bad class under out/fuzz/, and exits 1 if any bad class
// occurred. The same seed gives the same cases (wall-clock limits decide only how many run).
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const root = resolve(new URL('..', import.meta.url).pathname);
const adapterJs = join(root, 'dist', 'adapter.js');
const cliJs = join(root, 'dist', 'cli.js');

// ---- options ------------------------------------------------------------------------------------

function option(name, dflt) {
  const argv = process.argv.slice(2);
  const i = argv.findIndex((a) => a === `--${name}` || a.startsWith(`--${name}=`));
  if (i < 0) return dflt;
  return argv[i].includes('=') ? argv[i].slice(argv[i].indexOf('=') + 1) : argv[i + 1];
}
const seconds = Number(option('seconds', '60'));
const seed = Number(option('seed', '1'));
const only = option('only', 'both');
const jobs = Number(option('jobs', String(Math.max(1, Math.min(4, availableParallelism())))));
const quiet = process.argv.includes("--quiet");
const allBad = process.argv.includes("--all");
if (!(seconds > 0) || !Number.isInteger(seed)) {
  console.error('usage: npm run fuzz -- [--seconds N] [--seed S] [--only dap|scenario] [--jobs J]');
  process.exit(2);
}

// ---- seeded randomness --------------------------------------------------------------------------

function rng(s) {
  let a = s >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    next,
    int: (n) => Math.floor(next() * n),
    pick: (xs) => xs[Math.floor(next() * xs.length)],
    chance: (p) => next() < p,
  };
}

// ---- the world: a workspace, canaries outside it ---------------------------------------------------

const work = mkdtempSync(join(tmpdir(), 'xsave-fuzz-'));
const ws = join(work, 'ws');
const outside = join(work, 'outside');
mkdirSync(ws, { recursive: true });
mkdirSync(outside, { recursive: true });
const CANARY = 'CANARY_7f3a9c_DO_NOT_ECHO';
writeFileSync(join(outside, 'canary.xsave'), `const ${CANARY} = 1;\nfn ${CANARY}_fn() { }\n`);
writeFileSync(join(outside, 'canary.txt'), `${CANARY} secret\n`);
const HOST_SECRETS = [CANARY, 'root:x:0:0'];

const corpus = [];
for (const dir of ['examples', join('test', 'fixtures')]) {
  for (const f of readdirSync(join(root, dir))) {
    if (f.endsWith('.xsave')) corpus.push({ name: f, text: readFileSync(join(root, dir, f), 'utf8') });
  }
}
for (const c of corpus) writeFileSync(join(ws, c.name), c.text);

const counts = { dap: new Map(), scenario: new Map() };
const BAD = new Set(['crash', 'hang', 'stack-trace', 'raw-exception', 'internal-error', 'host-file', 'bad-diagnostic']);
const firsts = new Map();
const outDir = join(root, 'out', 'fuzz');

const samples = new Map();
/** --messages: every distinct error message (numbers and quoted text folded), to read them. */
const showMessages = process.argv.includes('--messages');
const messages = new Map();
function count(kind, cls, repro, sample) {
  if (BAD.has(cls) && sample) {
    const set = samples.get(`${kind}:${cls}`) ?? new Set();
    if (set.size < 12) set.add(sample.slice(0, 200));
    samples.set(`${kind}:${cls}`, set);
  }
  const m = counts[kind];
  m.set(cls, (m.get(cls) ?? 0) + 1);
  if (BAD.has(cls) && !firsts.has(`${kind}:${cls}`)) {
    firsts.set(`${kind}:${cls}`, repro);
    mkdirSync(outDir, { recursive: true });
    writeFileSync(join(outDir, `${kind}-${cls}.txt`), repro);
    if (!quiet) console.error(`fuzz: ${kind} ${cls} (reproducer: out/fuzz/${kind}-${cls}.txt)\n${repro.slice(0, 600)}`);
  }
}

const RAW = /Cannot read propert|Cannot set propert|is not a function|is not iterable|is not defined|of undefined|of null|\[object Object\]|\bNaN\b|\bundefined\b|TypeError|RangeError|ReferenceError|SyntaxError|Maximum call stack/;
const STACK = /\n\s+at [^\n]*(\(|:\d+:\d+)/;

function leaks(text) {
  return HOST_SECRETS.some((s) => text.includes(s));
}

// ---- DAP fuzzer ---------------------------------------------------------------------------------

class Adapter {
  constructor() {
    this.proc = spawn(process.execPath, [adapterJs], { stdio: ['pipe', 'pipe', 'pipe'] });
    this.buf = Buffer.alloc(0);
    this.seq = 1;
    this.waiting = new Map();
    this.events = [];
    this.stderr = '';
    this.exited = null;
    this.proc.stdout.on('data', (d) => this.data(d));
    this.proc.stderr.on('data', (d) => { this.stderr += d; });
    this.proc.on('exit', (code, signal) => {
      this.exited = { code, signal };
      for (const w of this.waiting.values()) w(null);
      this.waiting.clear();
    });
    this.proc.stdin.on('error', () => {});
  }
  data(d) {
    this.buf = Buffer.concat([this.buf, d]);
    for (;;) {
      const h = this.buf.indexOf('\r\n\r\n');
      if (h < 0) return;
      const m = /Content-Length: (\d+)/i.exec(this.buf.subarray(0, h).toString());
      const len = Number(m?.[1] ?? 0);
      if (this.buf.length < h + 4 + len) return;
      const msg = JSON.parse(this.buf.subarray(h + 4, h + 4 + len).toString('utf8'));
      this.buf = this.buf.subarray(h + 4 + len);
      if (msg.type === 'response') {
        const w = this.waiting.get(msg.request_seq);
        this.waiting.delete(msg.request_seq);
        w?.(msg);
      } else if (msg.type === 'event') {
        this.events.push(msg);
        if (this.events.length > 2000) this.events.splice(0, 1000);
      } else if (msg.type === 'request') {
        // reverse requests (runInTerminal...) are not expected
        this.events.push({ type: 'event', event: 'reverse-request', body: msg });
      }
    }
  }
  request(command, args, timeoutMs) {
    const seq = this.seq++;
    const msg = JSON.stringify({ seq, type: 'request', command, ...(args === undefined ? {} : { arguments: args }) });
    return new Promise((res) => {
      if (this.exited) { res(null); return; }
      const timer = setTimeout(() => { this.waiting.delete(seq); res('timeout'); }, timeoutMs);
      this.waiting.set(seq, (m) => { clearTimeout(timer); res(m); });
      this.proc.stdin.write(`Content-Length: ${Buffer.byteLength(msg)}\r\n\r\n${msg}`);
    });
  }
  kill() {
    if (!this.exited) this.proc.kill('SIGKILL');
  }
}

const COMMANDS = [
  'initialize', 'launch', 'configurationDone', 'setBreakpoints', 'setFunctionBreakpoints', 'setExceptionBreakpoints', 'threads',
  'stackTrace', 'scopes', 'variables', 'evaluate', 'setVariable', 'setExpression', 'completions', 'continue', 'next', 'stepIn',
  'stepOut', 'stepBack', 'reverseContinue', 'pause', 'restart', 'disconnect', 'terminate', 'readMemory', 'writeMemory',
  'dataBreakpointInfo', 'setDataBreakpoints', 'exceptionInfo', 'cancel', 'xsave/toggleHex', 'xsave/setFormat', 'source',
  'goto', 'restartFrame', 'loadedSources', 'breakpointLocations', 'disassemble', 'attach', 'stepInTargets', 'modules', 'nonsense',
];
const NAMES = ['IA32_XFD_ERR', 'IA32_XFD', 'XCR0', 'err', 'current', '__proto__', 'constructor', 'toString', 'hasOwnProperty',
  'current.thread.fpu.fpstate.xfd', 'current->thread.fpu.__proto__', 'this_cpu.xfd_state', 'XFEATURE_MASK_XTILEDATA', 'MSR_IA32_XFD',
  'IA32_XFD_ERR & XFEATURE_MASK_XTILEDATA', '1/0', '(((1)))', '-~!1', 'x = 1', 'IA32_XFD = 0x40000', 'cpu0.IA32_XFD_ERR',
  `${'('.repeat(300)}1${')'.repeat(300)}`, `${'-'.repeat(5000)}1`, Array.from({ length: 3000 }, () => '1').join('+'), 'N'.repeat(9000),
  `${'f('.repeat(400)}1${')'.repeat(400)}`, '0x1ffffffffffffffffffff', `{${'{'.repeat(50)}}`];

function garbage(r) {
  return r.pick([
    null, undefined, {}, [], '', 'x', 0, -1, 0.5, 1e300, -1e300, 2 ** 53 + 2, true, false, { a: 1 }, [1, 2], '{}',
    'A'.repeat(r.pick([100, 5000, 70000, 1 << 20])), '\u0000\uffff', '../../../../etc/passwd', '/etc/passwd', '__proto__',
  ]);
}

function launchArgs(r) {
  const programs = [
    // (outside/canary.xsave is never the program: a launched scenario may be shown; only what it reaches is gated)
    ...corpus.map((c) => join(ws, c.name)), '/etc/passwd', join(outside, 'canary.txt'), join(ws, 'missing.xsave'),
    ws, '', '/proc/self/environ',
  ];
  let program = r.pick(programs);
  if (r.chance(0.3)) {
    // A mutated scenario, as the scenario lane makes them.
    program = join(ws, `dap-${r.int(16)}.xsave`);
    writeFileSync(program, mutate(r, r.pick(corpus).text));
  }
  const a = { program };
  if (r.chance(0.5)) a.policy = r.pick(['naive', 'linux-5.17', 'tglx-2021', 'linux-6.19', '../../x', '__proto__', join(outside, 'canary.xsave'), 'constructor']);
  if (r.chance(0.2)) a.cpu = r.pick(['sapphire-rapids', 'haswell', '__proto__', 'constructor', 'toString', 'x']);
  if (r.chance(0.7)) a.stopOnEntry = r.chance(0.7);
  if (r.chance(0.3)) a.maxSteps = r.pick([1, 100, 5000, 1e9, 0, -5, 0.5, 1e20, 'x']);
  if (r.chance(0.15)) {
    a.explore = true;
    a.exploreBounds = r.pick([
      { interrupts: 1, preemptions: 0, fpuIrqs: 0, steps: 3000 }, { interrupts: 1e9, steps: 1 }, { steps: -1 }, null, 5,
      { interrupts: 0, preemptions: 0, fpuIrqs: 0, steps: 2000 },
    ]);
  }
  if (r.chance(0.1)) a.trace = garbage(r);
  if (r.chance(0.05)) return garbage(r);
  return a;
}

function argsFor(r, command, st) {
  const frame = () => (r.chance(0.8) && st.frames.length ? r.pick(st.frames) : garbage(r));
  const ref = () => (r.chance(0.8) && st.refs.length ? r.pick(st.refs) : garbage(r));
  const thread = () => (r.chance(0.85) ? r.pick([1, 2, 3, ...st.threads]) : garbage(r));
  const name = () => (r.chance(0.85) ? r.pick([...NAMES, ...st.names]) : garbage(r));
  if (r.chance(0.08)) return garbage(r);
  switch (command) {
    case 'initialize': return r.chance(0.9) ? { adapterID: 'xsave', pathFormat: 'path', linesStartAt1: true, columnsStartAt1: true, supportsProgressReporting: r.chance(0.5) } : { adapterID: garbage(r) };
    case 'launch': return launchArgs(r);
    case 'restart': return r.chance(0.5) ? undefined : r.chance(0.5) ? { arguments: launchArgs(r) } : {};
    case 'setBreakpoints': return r.chance(0.8)
      ? { source: { path: r.pick([...corpus.map((c) => join(ws, c.name)), '/etc/passwd', garbage(r)]) }, breakpoints: Array.from({ length: r.int(4) }, () => ({ line: r.chance(0.9) ? r.int(60) : garbage(r), ...(r.chance(0.3) ? { condition: name() } : {}), ...(r.chance(0.2) ? { hitCondition: r.pick(['3', '>= 2', '% 4', 'x', garbage(r)]) } : {}), ...(r.chance(0.2) ? { logMessage: r.pick(['x={IA32_XFD_ERR}', '{', '}{', '{__proto__}', garbage(r)]) } : {}) })) }
      : { source: garbage(r), breakpoints: garbage(r), lines: garbage(r) };
    case 'setFunctionBreakpoints': return { breakpoints: r.chance(0.8) ? [{ name: r.pick(['kvm_run', 'exc_device_not_available', 'guest:main', '__proto__', 'constructor', garbage(r)]) }] : garbage(r) };
    case 'setExceptionBreakpoints': return { filters: r.chance(0.8) ? [r.pick(['nm', 'gp', 'ud', 'vmexit', 'xfderr', 'assertion', 'invariant', '__proto__', 'x'])] : garbage(r), ...(r.chance(0.3) ? { filterOptions: [{ filterId: r.pick(['nm', 'vmexit', '__proto__', garbage(r)]), condition: r.pick(['guest', 'reason == 1', '((', garbage(r)]) }] } : {}) };
    case 'stackTrace': return { threadId: thread(), ...(r.chance(0.3) ? { startFrame: garbage(r), levels: garbage(r) } : {}) };
    case 'scopes': return { frameId: frame() };
    case 'variables': return { variablesReference: ref(), ...(r.chance(0.3) ? { start: r.pick([0, 1, garbage(r)]), count: r.pick([0, 2, garbage(r)]) } : {}) };
    case 'evaluate': return { expression: name(), ...(r.chance(0.7) ? { frameId: frame() } : {}), ...(r.chance(0.5) ? { context: r.pick(['repl', 'watch', 'hover', garbage(r)]) } : {}) };
    case 'setVariable': return { variablesReference: ref(), name: name(), value: r.pick(['0', '1', '0x40000', '-1', 'x', '__proto__', '1/0', garbage(r)]) };
    case 'setExpression': return { expression: name(), value: r.pick(['0', '0x40000', 'IA32_XFD', garbage(r)]), ...(r.chance(0.5) ? { frameId: frame() } : {}) };
    case 'completions': return { text: name(), column: r.pick([1, 3, 100, garbage(r)]), ...(r.chance(0.5) ? { frameId: frame() } : {}) };
    case 'continue': case 'next': case 'stepIn': case 'stepOut': case 'stepBack': case 'reverseContinue': case 'pause': case 'exceptionInfo':
      return { threadId: thread() };
    case 'disconnect': return r.chance(0.5) ? undefined : { restart: garbage(r) };
    case 'terminate': return r.chance(0.5) ? undefined : {};
    case 'readMemory': return { memoryReference: r.pick([...st.mems, '0x100000', '0xffffffffffffffff', '0x10000000000000000', 'cpu0/XTILEDATA', 'cpu9/x', garbage(r)]), ...(r.chance(0.6) ? { offset: r.pick([0, 1, -1, 0x200, 2 ** 60, garbage(r)]) } : {}), ...(r.chance(0.9) ? { count: r.pick([0, 1, 64, 0.5, -1, 1 << 21, garbage(r)]) } : {}) };
    case 'writeMemory': return { memoryReference: r.pick([...st.mems, '0x100000', 'cpu0/XTILEDATA', garbage(r)]), data: r.pick(['AAAA', '', '!!!', garbage(r)]), ...(r.chance(0.5) ? { offset: r.pick([0, 0x200, -5, garbage(r)]) } : {}) };
    case 'dataBreakpointInfo': return { name: name(), ...(r.chance(0.5) ? { variablesReference: ref() } : {}), ...(r.chance(0.3) ? { frameId: frame() } : {}) };
    case 'setDataBreakpoints': return { breakpoints: r.chance(0.8) ? [{ dataId: r.pick(['cpu0.IA32_XFD_ERR', 'cpu0.__proto__', 'fpu_guest#12.xfd_err', 'x#1.__proto__', 'cpu0/XTILEDATA:999999999', '0x100000:8', garbage(r)]) }] : garbage(r) };
    case 'cancel': return { progressId: r.pick(['explore', garbage(r)]) };
    case 'xsave/setFormat': return { hex: garbage(r) };
    default: return r.chance(0.5) ? {} : garbage(r);
  }
}

function collect(st, msg) {
  if (!msg || typeof msg !== 'object' || !msg.body) return;
  const b = msg.body;
  if (Array.isArray(b.threads)) st.threads = b.threads.map((t) => t.id);
  if (Array.isArray(b.stackFrames)) st.frames = b.stackFrames.map((f) => f.id);
  if (Array.isArray(b.scopes)) st.refs.push(...b.scopes.map((s) => s.variablesReference));
  if (Array.isArray(b.variables)) {
    for (const v of b.variables) {
      if (v.variablesReference) st.refs.push(v.variablesReference);
      if (v.memoryReference) st.mems.push(v.memoryReference);
      st.names.push(v.name);
    }
  }
  if (typeof b.variablesReference === 'number' && b.variablesReference) st.refs.push(b.variablesReference);
  for (const k of ['refs', 'names', 'mems']) if (st[k].length > 200) st[k].splice(0, 100);
}

/** What a request sent comes back quoted; only the adapter's own words count. */
function ownWords(text) {
  return text.replace(/'[^'\n]*'|"[^"\n]*"/g, "''");
}

function classifyResponse(resp) {
  if (resp === 'timeout') return 'hang';
  if (resp === null) return 'crash';
  const text = JSON.stringify(resp);
  if (leaks(text)) return 'host-file';
  if (resp.success) {
    if (/\\n\s+at /.test(text)) return 'stack-trace';
    // The adapter's own words in a success: breakpoint messages, results, descriptions.
    const b = resp.body ?? {};
    const words = [b.result, b.value, b.description, ...(Array.isArray(b.breakpoints) ? b.breakpoints.map((x) => x?.message) : [])];
    if (words.some((w) => typeof w === 'string' && RAW.test(ownWords(w)))) return 'raw-exception';
    if (typeof b.unreadableBytes === 'number' && !Number.isInteger(b.unreadableBytes)) return 'raw-exception';
    return 'ok';
  }
  const m = ownWords(String(resp.message ?? ''));
  if (STACK.test(m)) return 'stack-trace';
  if (/internal error/.test(m)) return 'internal-error';
  if (RAW.test(m)) return 'raw-exception';
  return 'error-response';
}

function classifyEvents(events) {
  for (const e of events) {
    const text = JSON.stringify(e.body ?? {});
    if (leaks(text)) return 'host-file';
    if (e.event === 'output' && STACK.test(e.body?.output ?? '')) return 'stack-trace';
    if (e.event === 'output' && e.body?.category === 'stderr' && RAW.test(ownWords(e.body?.output ?? ''))) return 'raw-exception';
    if (e.event === 'output' && /internal error/.test(e.body?.output ?? '')) return 'internal-error';
    if (e.event === 'stopped' && /internal error/.test(e.body?.text ?? e.body?.description ?? '')) return 'internal-error';
  }
  return null;
}

async function dapSession(r, deadline, caseNo) {
  const a = new Adapter();
  const st = { threads: [], frames: [], refs: [], names: [], mems: [] };
  const log = [];
  const n = 5 + r.int(40);
  try {
    for (let i = 0; i < n && Date.now() < deadline; i++) {
      let command;
      if (i === 0 && r.chance(0.9)) command = 'initialize';
      else if (i === 1 && r.chance(0.8)) command = 'launch';
      else if (i === 2 && r.chance(0.7)) command = 'configurationDone';
      else command = r.pick(COMMANDS);
      const args = argsFor(r, command, st);
      log.push({ command, arguments: args });
      const before = a.events.length;
      const timeout = command === 'launch' || command === 'restart' ? 60_000 : 15_000;
      const resp = await a.request(command, args, timeout);
      let cls = classifyResponse(resp);
      if (cls === 'crash' && a.exited && command === 'disconnect') cls = 'ok';
      // let events of a run arrive
      if (['continue', 'next', 'stepIn', 'stepOut', 'configurationDone', 'launch', 'restart'].includes(command)) await new Promise((res) => setTimeout(res, r.int(30)));
      const evCls = classifyEvents(a.events.slice(before));
      if (evCls && cls !== 'hang' && cls !== 'crash') cls = evCls;
      count('dap', cls, `seed ${seed}, DAP case ${caseNo}, request ${i}\n${JSON.stringify(log, null, 1).slice(0, 20000)}\nresponse: ${JSON.stringify(resp)?.slice(0, 4000)}\nevents: ${JSON.stringify(a.events.slice(before)).slice(0, 4000)}\nstderr: ${a.stderr.slice(0, 4000)}`, `${command}: ${typeof resp === 'object' && resp ? resp.message ?? JSON.stringify(a.events.slice(before)).slice(0, 300) : resp}`);
      if (showMessages && resp && typeof resp === 'object' && !resp.success) {
        const k = `${command}: ${String(resp.message).replace(/'[^'\n]*'|"[^"\n]*"/g, "'…'").replace(/\d+/g, 'N')}`.slice(0, 160);
        messages.set(k, (messages.get(k) ?? 0) + 1);
      }
      collect(st, resp);
      if (cls === 'hang' || cls === 'crash') break;
      if (a.exited) break;
    }
    // A pause must always be answered, whatever the state.
    if (!a.exited) {
      const resp = await a.request('pause', { threadId: 1 }, 15_000);
      count('dap', classifyResponse(resp) === 'hang' ? 'hang' : 'final-pause', `seed ${seed}, DAP case ${caseNo}: final pause\n${JSON.stringify(log, null, 1).slice(0, 20000)}`);
      await a.request('disconnect', {}, 5_000);
    }
    if (a.stderr && /Error|at /.test(a.stderr)) count('dap', 'crash', `seed ${seed}, DAP case ${caseNo}: stderr\n${a.stderr.slice(0, 4000)}\n${JSON.stringify(log, null, 1).slice(0, 20000)}`);
  } finally {
    a.kill();
  }
}

// ---- scenario mutator ---------------------------------------------------------------------------

function deep(kind, n) {
  switch (kind) {
    case 'parens': return `const D = ${'('.repeat(n)}1${')'.repeat(n)};`;
    case 'calls': return `fn f(x) { return x; }\nfn g() { let y = ${'f('.repeat(n)}1${')'.repeat(n)}; }`;
    case 'unary': return `const D = ${'-'.repeat(n)}1;`;
    case 'plus': return `const D = ${Array.from({ length: n }, () => '1').join(' + ')};`;
    case 'ifs': return `fn g() { ${'if (1) { '.repeat(n)}${'} '.repeat(n)}}`;
    case 'elseif': return `fn g() { if (0) { } ${'else if (0) { } '.repeat(n)}}`;
    case 'fields': return `fn g() { let y = current${'->thread'.repeat(n)}; }`;
    case 'index': return `fn g() { let y = current${'[1]'.repeat(n)}; }`;
    case 'ternary': return `const D = 1${' ? 1 : 1'.repeat(n)};`;
    case 'consts': return Array.from({ length: n }, (_, i) => `const C${i} = C${i + 1} + 1;`).join('\n') + `\nconst C${n} = 1;`;
  }
  return '';
}

function mutate(r, text) {
  const lines = text.split('\n');
  const k = 1 + r.int(3);
  for (let j = 0; j < k; j++) {
    const at = r.int(lines.length + 1);
    switch (r.int(14)) {
      case 0: lines.splice(at, 1 + r.int(3)); break;
      case 1: lines.splice(at, 0, lines[r.int(lines.length)] ?? ''); break;
      case 2: { const l = lines[at] ?? ''; const p = r.int(l.length + 1); lines[at] = l.slice(0, p) + l.slice(p + 1 + r.int(5)); break; }
      case 3: { const l = lines[at] ?? ''; const p = r.int(l.length + 1); lines[at] = l.slice(0, p) + r.pick(['(', ')', '{', '}', ';', '"', '->', '.', '0x', '9999999999999999999999', '/*', '//', '\\', '\u0000', 'é', '__proto__', 'constructor']) + l.slice(p); break; }
      case 4: lines.splice(at, 0, r.pick([`import "${join(outside, 'canary.xsave')}";`, `import "${join(outside, 'canary.txt')}";`, 'import "/etc/passwd";', 'import "../../../../../../etc/passwd";', 'import "/proc/self/environ";', `import "${relPath(outside)}/canary.xsave";`, 'import "missing.xsave";', `import "${r.pick(corpus).name}";`])); break;
      case 5: lines.splice(at, 0, r.pick(['cpu "__proto__";', 'cpu "constructor";', 'cpu "toString";', 'cpu "haswell";', 'policy "../../x";', 'policy "__proto__";', `policy "${join(outside, 'canary.xsave')}";`, 'cpus 64;', 'cpus 0;'])); break;
      case 6: lines.splice(at, 0, deep(r.pick(['parens', 'calls', 'unary', 'plus', 'ifs', 'elseif', 'consts', 'fields', 'index', 'ternary']), r.pick([10, 150, 1000, 3000, 10000, 100000]))); break;
      case 7: lines.splice(at, 0, `const ${'N'.repeat(r.pick([300, 70000]))} = 1;`); break;
      case 8: lines.splice(at, 0, r.pick(['host hog { thread main { while (1) { user_buffer_alloc(1 << 20); } } }', 'host hog { thread main { while (1) { } } }', 'host hog { thread main { let a = 1; while (a) { a = a + 1; } } }'])); break;
      case 9: { const a2 = r.int(lines.length); const b2 = r.int(lines.length); [lines[a2], lines[b2]] = [lines[b2], lines[a2]]; break; }
      case 10: lines[at] = (lines[at] ?? '').replace(/0x[0-9a-f]+|\b\d+\b/i, r.pick(['0', '-1', '0xffffffffffffffff', '0x1ffffffffffffffff', '64', '99999999999'])); break;
      case 11: lines[at] = (lines[at] ?? '').replace(/[A-Za-z_]\w*/, r.pick(['__proto__', 'constructor', 'toString', 'valueOf', 'prototype', 'hasOwnProperty'])); break;
      case 12: lines.splice(at, 0, `events { ${r.pick(['external_interrupt', 'preempt', 'fpu_irq', 'run other.main', '__proto__'])} at ${r.pick(['guest main', 'host kvm_run', 'line 3', 'line 99999', '__proto__'])}; }`); break;
      default: lines.splice(at, lines.length); break;
    }
  }
  return lines.join('\n');
}

function relPath(target) {
  return '../'.repeat(10) + target.replace(/^\//, '');
}

function runCli(args, cwd, timeoutMs) {
  return new Promise((res) => {
    const p = spawn(process.execPath, [cliJs, ...args], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    p.stdout.on('data', (d) => { if (out.length < 1 << 20) out += d; });
    p.stderr.on('data', (d) => { if (err.length < 1 << 20) err += d; });
    const timer = setTimeout(() => p.kill('SIGKILL'), timeoutMs);
    p.on('exit', (code, signal) => { clearTimeout(timer); res({ code, signal, out, err, timedOut: signal === 'SIGKILL' }); });
  });
}

const DIAG = /^(\/[^\n]*|[A-Za-z]:[^\n]*):\d+:\d+: (error|warning): [^\n]+$/;

function classifyCli(res, file) {
  if (res.timedOut) return 'hang';
  if (res.signal) return 'crash';
  const all = res.out + res.err;
  if (leaks(all)) return 'host-file';
  if (STACK.test(all)) return 'stack-trace';
  if (res.code === 3) return 'internal-error';
  if (RAW.test(res.err)) return 'raw-exception';
  if (res.code === 2) {
    const lines = res.err.split('\n').filter(Boolean);
    if (!lines.every((l) => DIAG.test(l) || l.startsWith('xsave-sim: '))) return 'bad-diagnostic';
    return 'exit-2';
  }
  if (res.code === 0 || res.code === 1) return `exit-${res.code}`;
  return 'crash';
  void file;
}

async function scenarioCase(r, caseNo) {
  const base = r.pick(corpus);
  const text = mutate(r, base.text);
  const dir = join(ws, `case-${caseNo % 64}`);
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `m${caseNo}.xsave`);
  writeFileSync(file, text);
  const explore = r.chance(0.15);
  const args = explore
    ? ['explore', file, '--max-interrupts', String(r.pick([0, 1, 1000000000])), '--max-preemptions', '0', '--max-fpu-irqs', String(r.pick([0, 1])), '--max-steps', String(r.pick([2000, 5000])), '--workers', '0', '--out', join(dir, `m${caseNo}.ce.xsave`)]
    : ['run', file, '--max-steps', String(r.pick([2000, 20000, 100000])), ...(r.chance(0.2) ? ['--cpu', r.pick(['haswell', '__proto__', 'constructor', 'toString'])] : []), ...(r.chance(0.2) ? ['--policy', r.pick(['naive', 'linux-5.17', '../../x', '__proto__'])] : [])];
  const res = await runCli(args, dir, 60_000);
  const cls = classifyCli(res, file);
  count('scenario', cls, `seed ${seed}, scenario case ${caseNo} (from ${base.name})\nxsave-sim ${args.join(' ')}\nexit ${res.code} ${res.signal ?? ''}\n--- stderr\n${res.err.slice(0, 3000)}\n--- stdout\n${res.out.slice(-1000)}\n--- scenario\n${text.slice(0, 30000)}`, res.err.split("\n").find((l) => l && !DIAG.test(l)) ?? res.err.slice(0, 200));
}

// ---- main ---------------------------------------------------------------------------------------

const t0 = Date.now();
const deadline = t0 + seconds * 1000;
const tasks = [];
const lanes = only === 'both' ? ['dap', 'scenario'] : [only];
let lane = 0;
for (let j = 0; j < jobs; j++) {
  const kind = lanes[lane++ % lanes.length];
  const r = rng(seed * 1000 + j);
  tasks.push((async () => {
    for (let c = 0; Date.now() < deadline; c++) {
      const caseNo = c * jobs + j;
      if (kind === 'dap') await dapSession(r, deadline, caseNo);
      else await scenarioCase(r, caseNo);
    }
  })());
}
await Promise.all(tasks);

if (showMessages) for (const [k, n] of [...messages.entries()].sort((a, b) => b[1] - a[1])) console.log(`${String(n).padStart(6)} ${k}`);
const elapsed = ((Date.now() - t0) / 1000).toFixed(1);
console.log(`fuzz: seed ${seed}, ${elapsed} s, ${jobs} job(s), work folder ${work}`);
let bad = 0;
for (const kind of lanes) {
  const m = counts[kind];
  const total = [...m.values()].reduce((a, b) => a + b, 0);
  console.log(`${kind}: ${total} outcomes`);
  for (const [cls, n] of [...m.entries()].sort()) {
    console.log(`  ${cls.padEnd(16)} ${String(n).padStart(7)}${BAD.has(cls) ? '  <- bad' : ''}`);
    if (BAD.has(cls)) bad += n;
  }
}
if (bad) {
  console.log(`bad outcomes: ${bad}; reproducers in out/fuzz/`);
  if (!quiet) for (const [k, set] of samples) for (const x of set) console.log(`  ${k}: ${x}`);
}
else console.log('bad outcomes: 0');
process.exit(bad ? 1 : 0);
