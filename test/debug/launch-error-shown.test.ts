// A launch that fails is shown to the user: the error response carries showUser (VS Code then puts
// the message in a notification; without it F5 on a broken scenario seemed to do nothing). Spoken
// over raw DAP framing, since DebugClient keeps only an error's message.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import type { DebugProtocol } from '@vscode/debugprotocol';
import { adapter, fixture } from './support';

async function exchange(requests: Array<{ command: string; arguments?: unknown }>): Promise<DebugProtocol.Response[]> {
  const child = spawn(process.execPath, [adapter], { stdio: ['pipe', 'pipe', 'inherit'] });
  const responses: DebugProtocol.Response[] = [];
  let buf = Buffer.alloc(0);
  const done = new Promise<void>((resolve) => {
    child.stdout.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      for (;;) {
        const sep = buf.indexOf('\r\n\r\n');
        if (sep < 0) break;
        const len = Number(/Content-Length: (\d+)/.exec(buf.subarray(0, sep).toString())![1]);
        if (buf.length < sep + 4 + len) break;
        const msg = JSON.parse(buf.subarray(sep + 4, sep + 4 + len).toString()) as DebugProtocol.ProtocolMessage;
        buf = buf.subarray(sep + 4 + len);
        if (msg.type === 'response') responses.push(msg as DebugProtocol.Response);
        if (responses.length === requests.length) resolve();
      }
    });
  });
  requests.forEach((r, i) => {
    const json = JSON.stringify({ seq: i + 1, type: 'request', ...r });
    child.stdin.write(`Content-Length: ${Buffer.byteLength(json)}\r\n\r\n${json}`);
  });
  await done;
  child.kill();
  return responses;
}

test('a launch of a scenario with errors answers with the diagnostics and showUser: true', async () => {
  const [, launch] = await exchange([
    { command: 'initialize', arguments: { adapterID: 'xsave' } },
    { command: 'launch', arguments: { program: fixture('broken.xsave') } },
  ]);
  assert.equal(launch!.success, false);
  const err = (launch as DebugProtocol.ErrorResponse).body.error!;
  assert.equal(err.showUser, true);
  assert.match(err.format, /broken\.xsave:4:9: error: unknown name 'undefined_thing'/);
});
