#!/usr/bin/env node
// A debug adapter that does nothing but answer, with replies shaped like xsave-debug's at a stop in
// examples/xfd-err-leak.xsave: 5 stack frames, 5 scopes of which 4 are not expensive (2, 10, 21 and
// 11 variables: Locals, CPU, vCPU, VMCS-sized), the same kind of names, values and evaluateNames,
// about the same bytes per stop. bench/dap.mjs runs it beside dapbench's null adapter (1 frame, 1
// scope, no variables): the floor of *this* workload, so that what the adapter's own work costs
// can be told from what the workload's requests and bytes cost any adapter on this machine.
const frames = Array.from({ length: 5 }, (_, k) => ({
  id: k + 1, name: ['exc_device_not_available', 'guest:main', '[VM entry]', 'vcpu_run', 'qemu.vcpu0'][k],
  line: 14 + k, column: 3, source: { name: 'xfd-err-leak.xsave', path: '/work/examples/xfd-err-leak.xsave' },
}));
const sizes = [2, 10, 21, 11];
const scopes = [
  ...['Locals', 'CPU 0', 'vCPU', 'Task'].map((name, k) => ({ name, variablesReference: k + 1, expensive: false })),
  { name: 'Components (CPU 0)', variablesReference: 9, expensive: true, presentationHint: 'registers' },
];
const variables = (ref) => Array.from({ length: sizes[ref - 1] ?? 0 }, (_, k) => ({
  name: `field_${k}`,
  value: k % 2 ? '0x602e7 [x87 SSE YMM OPMASK ZMM_Hi256 Hi16_ZMM PKRU XTILECFG XTILEDATA]' : '0x0',
  variablesReference: k % 3 ? 0 : 100 + k,
  evaluateName: `vcpu.arch.field_${k}`,
}));

let seq = 1;
let buf = Buffer.alloc(0);
function send(msg) {
  msg.seq = seq++;
  const json = JSON.stringify(msg);
  process.stdout.write(`Content-Length: ${Buffer.byteLength(json, 'utf8')}\r\n\r\n${json}`);
}
const respond = (req, body) => send({ type: 'response', request_seq: req.seq, command: req.command, success: true, body });
const event = (name, body) => send({ type: 'event', event: name, body });
const stopped = (reason) => event('stopped', { reason, threadId: 1, allThreadsStopped: true });
let launched = false;
let configured = false;

function handle(req) {
  switch (req.command) {
    case 'initialize': respond(req, { supportsConfigurationDoneRequest: true }); event('initialized', {}); break;
    case 'launch': launched = true; respond(req, {}); if (configured) stopped('entry'); break;
    case 'configurationDone': configured = true; respond(req, {}); if (launched) stopped('entry'); break;
    case 'next': case 'stepIn': case 'stepOut': case 'stepBack': case 'continue': respond(req, {}); stopped('step'); break;
    case 'threads': respond(req, { threads: [{ id: 1, name: 'qemu.main' }, { id: 2, name: 'qemu.vcpu0' }, { id: 3, name: 'other.main' }] }); break;
    case 'stackTrace': respond(req, { stackFrames: frames, totalFrames: frames.length }); break;
    case 'scopes': respond(req, { scopes }); break;
    case 'variables': respond(req, { variables: variables(req.arguments.variablesReference) }); break;
    case 'disconnect': case 'terminate': respond(req, {}); process.exit(0); break;
    default: respond(req, {});
  }
}

process.stdin.on('data', (chunk) => {
  buf = Buffer.concat([buf, chunk]);
  for (;;) {
    const end = buf.indexOf('\r\n\r\n');
    if (end < 0) return;
    const len = Number(/Content-Length: (\d+)/i.exec(buf.subarray(0, end).toString())?.[1]);
    if (buf.length < end + 4 + len) return;
    const req = JSON.parse(buf.subarray(end + 4, end + 4 + len).toString());
    buf = buf.subarray(end + 4 + len);
    if (req.type === 'request') handle(req);
  }
});
