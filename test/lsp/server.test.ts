// The language server as an editor drives it: `node dist/server.js --stdio`, JSON-RPC with
// Content-Length framing written here by hand. Diagnostics with exact ranges and messages, a kernel
// file diagnosed in the program that includes it (no false errors), hover on a builtin, completion,
// definition from a scenario into fpu.xsave, document symbols and semantic tokens.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const root = join(__dirname, '..', '..', '..');
const server = join(root, 'dist', 'server.js');

interface Message { id?: number; method?: string; params?: any; result?: any; error?: { message: string } }

class Client {
  private readonly proc: ChildProcessWithoutNullStreams;
  private buffer = Buffer.alloc(0);
  private nextId = 1;
  private readonly pending = new Map<number, (m: Message) => void>();
  private readonly notifications: Message[] = [];
  private readonly waiters: Array<() => void> = [];

  constructor() {
    this.proc = spawn(process.execPath, [server, '--stdio'], { cwd: root });
    this.proc.stdout.on('data', (chunk: Buffer) => this.receive(chunk));
  }

  private receive(chunk: Buffer): void {
    this.buffer = Buffer.concat([this.buffer, chunk]);
    for (;;) {
      const headerEnd = this.buffer.indexOf('\r\n\r\n');
      if (headerEnd < 0) return;
      const length = Number(/Content-Length: (\d+)/i.exec(this.buffer.subarray(0, headerEnd).toString('ascii'))![1]);
      if (this.buffer.length < headerEnd + 4 + length) return;
      const msg = JSON.parse(this.buffer.subarray(headerEnd + 4, headerEnd + 4 + length).toString('utf8')) as Message;
      this.buffer = this.buffer.subarray(headerEnd + 4 + length);
      if (msg.id !== undefined && msg.method === undefined) this.pending.get(msg.id)?.(msg);
      else if (msg.id !== undefined && msg.method !== undefined) this.send({ id: msg.id, result: null }); // server → client requests
      else { this.notifications.push(msg); this.waiters.splice(0).forEach((w) => w()); }
    }
  }

  private send(msg: object): void {
    const body = Buffer.from(JSON.stringify({ jsonrpc: '2.0', ...msg }), 'utf8');
    this.proc.stdin.write(`Content-Length: ${body.length}\r\n\r\n`);
    this.proc.stdin.write(body);
  }

  request(method: string, params: unknown): Promise<any> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, (m) => (m.error ? reject(new Error(m.error.message)) : resolve(m.result)));
      this.send({ id, method, params });
    });
  }

  notify(method: string, params: unknown): void {
    this.send({ method, params });
  }

  /** The first (and removed) notification that satisfies `pred`, waiting for it. */
  async notification(pred: (m: Message) => boolean): Promise<Message> {
    for (;;) {
      const k = this.notifications.findIndex(pred);
      if (k >= 0) return this.notifications.splice(k, 1)[0]!;
      await new Promise<void>((r) => this.waiters.push(r));
    }
  }

  /** The diagnostics published for a version of a document. */
  async diagnostics(uri: string, version: number): Promise<any[]> {
    const m = await this.notification((n) => n.method === 'textDocument/publishDiagnostics' && n.params.uri === uri && n.params.version === version);
    return m.params.diagnostics;
  }

  async close(): Promise<void> {
    await this.request('shutdown', null);
    this.notify('exit', null);
    await new Promise((r) => this.proc.once('exit', r));
  }
}

const SCENARIO = `cpu "sapphire-rapids";
policy "linux-5.17";

fn my_irq() {
  x = rdmsr(MSR_IA32_XFD_ERRR);
  if (irq_fpu_usable()) {
    kernel_fpu_begin();
    kernel_fpu_end();
  }
}

host p {
  thread main {
    my_irq();
  }
}
`;
const FIXED = SCENARIO.replace('ERRR', 'ERR');

let client: Client;
let dir: string;
let scenarioUri: string;
const kvm = join(root, 'src', 'kernel', 'kvm.xsave');
const kvmUri = pathToFileURL(kvm).href;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'xsave-lsp-'));
  const scenario = join(dir, 'scenario.xsave');
  writeFileSync(scenario, SCENARIO);
  scenarioUri = pathToFileURL(scenario).href;
  client = new Client();
  const init = await client.request('initialize', { processId: process.pid, rootUri: pathToFileURL(dir).href, capabilities: {} });
  assert.equal(init.capabilities.hoverProvider, true);
  assert.deepEqual(init.serverInfo, { name: 'xsave-language-server', version: (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string }).version });
  assert.deepEqual(init.capabilities.semanticTokensProvider.legend.tokenTypes.slice(0, 4), ['keyword', 'number', 'string', 'function']);
  client.notify('initialized', {});
});

after(async () => {
  await client.close();
});

test('a scenario with an error: publishDiagnostics with its exact range and message', async () => {
  client.notify('textDocument/didOpen', { textDocument: { uri: scenarioUri, languageId: 'xsave', version: 1, text: SCENARIO } });
  const diags = await client.diagnostics(scenarioUri, 1);
  assert.deepEqual(diags, [{
    range: { start: { line: 4, character: 12 }, end: { line: 4, character: 29 } },
    severity: 1,
    source: 'xsave',
    message: "unknown name 'MSR_IA32_XFD_ERRR' (did you mean 'MSR_IA32_XFD_ERR'?)",
  }]);
});

test('an edit that fixes the error clears the diagnostics', async () => {
  client.notify('textDocument/didChange', { textDocument: { uri: scenarioUri, version: 2 }, contentChanges: [{ text: FIXED }] });
  assert.deepEqual(await client.diagnostics(scenarioUri, 2), []);
});

test('src/kernel/kvm.xsave opened alone is diagnosed as part of the kernel and a policy: no false errors', async () => {
  client.notify('textDocument/didOpen', { textDocument: { uri: kvmUri, languageId: 'xsave', version: 1, text: readFileSync(kvm, 'utf8') } });
  assert.deepEqual(await client.diagnostics(kvmUri, 1), []);
});

test('every kernel file, policy and example is clean in its context', async () => {
  const files = [
    ...['fpu.xsave', 'kvm-merged.xsave'].map((f) => join(root, 'src', 'kernel', f)),
    ...readdirSync(join(root, 'src', 'kernel', 'policies')).sort().map((f) => join(root, 'src', 'kernel', 'policies', f)),
    ...readdirSync(join(root, 'examples')).filter((f) => f.endsWith('.xsave')).sort().map((f) => join(root, 'examples', f)),
  ];
  for (const f of files) {
    const uri = pathToFileURL(f).href;
    client.notify('textDocument/didOpen', { textDocument: { uri, languageId: 'xsave', version: 1, text: readFileSync(f, 'utf8') } });
    assert.deepEqual(await client.diagnostics(uri, 1), [], f);
    client.notify('textDocument/didClose', { textDocument: { uri } });
  }
});

test('an error in a kernel file is reported there, at its range, in its own context', async () => {
  const text = readFileSync(kvm, 'utf8').replace('policy_before_vmenter(vcpu);', 'policy_before_vmenterr(vcpu);');
  client.notify('textDocument/didChange', { textDocument: { uri: kvmUri, version: 2 }, contentChanges: [{ text }] });
  const diags = await client.diagnostics(kvmUri, 2);
  assert.equal(diags.length, 1);
  assert.deepEqual(diags[0].range, { start: { line: 196, character: 2 }, end: { line: 196, character: 24 } });
  assert.match(diags[0].message, /^unknown function 'policy_before_vmenterr'.*did you mean 'policy_before_vmenter'/);
  client.notify('textDocument/didChange', { textDocument: { uri: kvmUri, version: 3 }, contentChanges: [{ text: readFileSync(kvm, 'utf8') }] });
  assert.deepEqual(await client.diagnostics(kvmUri, 3), []);
});

test('hover on a builtin shows its signature and documentation', async () => {
  const hover = await client.request('textDocument/hover', { textDocument: { uri: scenarioUri }, position: { line: 4, character: 8 } });
  assert.equal(hover.contents.kind, 'markdown');
  assert.match(hover.contents.value, /^`rdmsr\(msr\)`\n\nRuns in: host kernel, guest\n/);
  assert.deepEqual(hover.range, { start: { line: 4, character: 6 }, end: { line: 4, character: 11 } });
});

test('hover on a constant shows its exact value', async () => {
  const hover = await client.request('textDocument/hover', { textDocument: { uri: scenarioUri }, position: { line: 4, character: 20 } });
  assert.equal(hover.contents.value, '`MSR_IA32_XFD_ERR` = `0x1c5` (453)\n\nMSR IA32_XFD_ERR');
});

test('completion offers builtins with snippets, constants, kernel functions and the locals in scope', async () => {
  const items: any[] = await client.request('textDocument/completion', { textDocument: { uri: scenarioUri }, position: { line: 5, character: 2 } });
  const by = new Map(items.map((i) => [i.label, i]));
  assert.equal(by.get('xsetbv').insertText, 'xsetbv(${1:xcr}, ${2:value})');
  assert.equal(by.get('xsetbv').insertTextFormat, 2);
  assert.equal(by.get('XFEATURE_MASK_XTILEDATA').detail, '0x40000');
  assert.equal(by.get('kernel_fpu_begin').detail, 'fn kernel_fpu_begin()');
  assert.equal(by.get('my_irq').kind, 3);
  assert.equal(by.get('x').kind, 6);
});

test('completion after -> offers kernel-object fields', async () => {
  const text = FIXED.replace('my_irq();\n  }', 'my_irq();\n    current->\n  }');
  client.notify('textDocument/didChange', { textDocument: { uri: scenarioUri, version: 4 }, contentChanges: [{ text }] });
  const items: any[] = await client.request('textDocument/completion', { textDocument: { uri: scenarioUri }, position: { line: 14, character: 13 } });
  assert.ok(items.some((i) => i.label === 'thread_info' && i.kind === 5));
  assert.ok(!items.some((i) => i.label === 'xsetbv'));
  client.notify('textDocument/didChange', { textDocument: { uri: scenarioUri, version: 5 }, contentChanges: [{ text: FIXED }] });
});

test('definition from a scenario call goes into fpu.xsave; a call of the scenario\'s own function stays in it', async () => {
  const fpu = readFileSync(join(root, 'src', 'kernel', 'fpu.xsave'), 'utf8').split('\n');
  const line = fpu.findIndex((l) => l.startsWith('fn kernel_fpu_begin('));
  const def = await client.request('textDocument/definition', { textDocument: { uri: scenarioUri }, position: { line: 6, character: 6 } });
  assert.deepEqual(def, { uri: pathToFileURL(join(root, 'src', 'kernel', 'fpu.xsave')).href, range: { start: { line, character: 3 }, end: { line, character: 19 } } });
  const own = await client.request('textDocument/definition', { textDocument: { uri: scenarioUri }, position: { line: 13, character: 5 } });
  assert.deepEqual(own, { uri: scenarioUri, range: { start: { line: 3, character: 3 }, end: { line: 3, character: 9 } } });
});

test('definition from kvm.xsave of a policy hook goes to the policy it is compiled with (linux-5.17: kvm-merged.xsave)', async () => {
  const kvmLines = readFileSync(kvm, 'utf8').split('\n');
  const line = kvmLines.findIndex((l) => l.includes('policy_before_vmenter(vcpu);'));
  const character = kvmLines[line]!.indexOf('policy_before_vmenter') + 3;
  const merged = join(root, 'src', 'kernel', 'kvm-merged.xsave');
  const target = readFileSync(merged, 'utf8').split('\n').findIndex((l) => l.startsWith('fn policy_before_vmenter('));
  const def = await client.request('textDocument/definition', { textDocument: { uri: kvmUri }, position: { line, character } });
  assert.deepEqual(def, { uri: pathToFileURL(merged).href, range: { start: { line: target, character: 3 }, end: { line: target, character: 24 } } });
});

test('definition on the policy line opens the policy file', async () => {
  const def = await client.request('textDocument/definition', { textDocument: { uri: scenarioUri }, position: { line: 1, character: 12 } });
  assert.equal(def.uri, pathToFileURL(join(root, 'src', 'kernel', 'policies', 'linux-5.17.xsave')).href);
});

test('documentSymbol gives the outline: cpu, policy, functions, the host process and its thread', async () => {
  const symbols: any[] = await client.request('textDocument/documentSymbol', { textDocument: { uri: scenarioUri } });
  const flat = (s: any): string[] => [`${s.name}:${s.kind}`, ...(s.children ?? []).flatMap((c: any) => flat(c).map((x) => `  ${x}`))];
  assert.deepEqual(symbols.flatMap(flat), ['cpu:7', 'policy:7', 'my_irq:12', 'p:2', '  main:6']);
  assert.deepEqual(symbols[2].selectionRange, { start: { line: 3, character: 3 }, end: { line: 3, character: 9 } });
});

test('semanticTokens/full classifies keywords, strings, functions, constants and fields', async () => {
  const tokens = await client.request('textDocument/semanticTokens/full', { textDocument: { uri: scenarioUri } });
  const data: number[] = tokens.data;
  assert.equal(data.length % 5, 0);
  // Decode to [line, character, length, type] with the legend's order.
  const types = ['keyword', 'number', 'string', 'function', 'variable', 'parameter', 'property', 'namespace'];
  const decoded: string[] = [];
  let line = 0;
  let ch = 0;
  for (let k = 0; k < data.length; k += 5) {
    line += data[k]!;
    ch = data[k]! === 0 ? ch + data[k + 1]! : data[k + 1]!;
    decoded.push(`${line}:${ch}:${data[k + 2]}:${types[data[k + 3]!]}:${data[k + 4]}`);
  }
  assert.deepEqual(decoded.slice(0, 4), ['0:0:3:keyword:0', '0:4:17:string:0', '1:0:6:keyword:0', '1:7:12:string:0']);
  assert.ok(decoded.includes('3:0:2:keyword:0')); // fn
  assert.ok(decoded.includes('3:3:6:function:1')); // my_irq, a declaration
  assert.ok(decoded.includes('4:2:1:variable:0')); // x
  assert.ok(decoded.includes('4:6:5:function:4')); // rdmsr, a builtin (defaultLibrary)
  assert.ok(decoded.includes('4:12:16:variable:6')); // MSR_IA32_XFD_ERR: readonly, defaultLibrary
  assert.ok(decoded.includes('5:6:14:function:0')); // irq_fpu_usable, a kernel function
  assert.ok(decoded.includes('11:0:4:keyword:0')); // host
  assert.ok(decoded.includes('12:2:6:keyword:0')); // thread
});
