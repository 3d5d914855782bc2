// The machine before its first step: the CPUs of the model, the kernel's per-CPU and global FPU
// objects, and a thread (with its task, thread_info, thread_struct and fpu, and a scratch page) for
// every thread of the scenario's processes. With kernel boot code, start_kernel() runs first on
// cpu0 and start_secondary() on the others; without it, each CPU starts as Linux leaves it after
// fpu__init_cpu().
import { type CpuState, createCpu, createMemory, cpuModel } from '../model';
import { SCRATCH_SIZE, SCRATCH_TILE_DATA, ScenarioError, allocate } from './builtins';
import { newObject } from './kernel-objects';
import type { FrameKind, MachineState, ThreadState } from './machine';
import type { ProgramIndex } from './program-index';
import { createProvenance } from './provenance';
import { U64_MASK } from './value';

export interface BootOptions {
  /** CPU model; default the program's `cpu` line, else sapphire-rapids. */
  cpu?: string;
  /** Physical CPUs (default: enough for every `on cpuN` of the events, at least 1). */
  cpus?: number;
}

export function bootMachine(code: ProgramIndex, opts: BootOptions): MachineState {
  const program = code.program;
  const model = cpuModel(opts.cpu ?? program.cpuModel ?? 'sapphire-rapids');
  const n = Math.max(opts.cpus ?? program.cpus ?? 1, 1 + Math.max(0, ...program.events.map((e) => e.cpu)));
  if (n > 64) throw new ScenarioError(`${n} CPUs: the simulator runs at most 64`);
  const cpus = Array.from({ length: n }, () => createCpu(model.name));
  const s: MachineState = {
    steps: 0,
    cpus,
    mem: createMemory(),
    nextAddr: 0x100000n,
    heap: [],
    threads: [],
    running: cpus.map(() => -1),
    runQueues: cpus.map(() => []),
    nextCpu: 0,
    lastThread: -1,
    guests: [],
    vmcss: [],
    globals: {},
    percpu: [],
    irqOff: cpus.map(() => false),
    preemptCount: cpus.map(() => 0),
    deferred: cpus.map(() => []),
    trace: [],
    events: program.events.map(() => ({ fired: false, hits: 0 })),
    passedAssertions: 0,
    failedAssertions: [],
    violations: [],
    xfdErrGuestBits: cpus.map(() => 0n),
    provenance: createProvenance(n),
    halted: null,
  };
  createKernelObjects(s);
  cpus.forEach((cpu, k) => boot(s, code, cpu, k));
  createThreads(s, code);
  // The scratch pages are the machine's own, not allocations of a statement.
  s.provenance.regions = s.mem.regions.map(() => null);
  return s;
}

/** The per-CPU objects and the kernel's global FPU objects, zeroed: boot code fills them in. */
function createKernelObjects(s: MachineState): void {
  s.percpu = s.cpus.map((_, k) => {
    const o = newObject(s.heap, 'percpu');
    o.fields.cpu = BigInt(k);
    return o.id;
  });
  s.globals.init_fpstate = newObject(s.heap, 'fpstate').id;
  s.globals.fpu_kernel_cfg = newObject(s.heap, 'fpu_state_config').id;
  s.globals.fpu_user_cfg = newObject(s.heap, 'fpu_state_config').id;
}

/**
 * Boot: with a kernel function `start_kernel`, it runs first on a kernel thread and sets up the
 * CPU itself. Without one, the CPU starts as Linux leaves it after fpu__init_cpu(): CR4.OSXSAVE=1
 * and XCR0 = every user component the CPU supports.
 */
function boot(s: MachineState, code: ProgramIndex, cpu: CpuState, k: number): void {
  const start = code.kernelFns.get('start_kernel');
  if (start !== undefined) {
    // The boot CPU runs start_kernel(); the others run start_secondary(), if there is one, after it.
    const secondary = code.kernelFns.get('start_secondary');
    if (k === 0) spawnThread(s, code, 'kernel.start_kernel', 'kernel', start, 'call', 0, true, 0);
    else if (secondary !== undefined) spawnThread(s, code, `kernel.start_secondary/${k}`, 'kernel', secondary, 'call', 0, false, k);
    return;
  }
  cpu.cr4.osxsave = true;
  cpu.xcr0 = cpuModel(cpu.model).xcr0Supported;
}

function createThreads(s: MachineState, code: ProgramIndex): void {
  const program = code.program;
  const booting = code.kernelFns.has('start_kernel');
  const runTargets = new Map(program.events.filter((e) => e.target).map((e) => [`${e.target!.process}.${e.target!.thread}`, e.cpu]));
  for (const p of program.processes) {
    p.threads.forEach((t, k) => {
      const name = `${p.name}.${t.name}`;
      // A process starts with its first thread on cpu0, unless an event runs that thread later
      // (on the CPU the event names).
      const startNow = k === 0 && !runTargets.has(name);
      // With kernel boot code, user space starts when every CPU has booted (as init does after smp_init).
      const th = spawnThread(s, code, name, p.name, t.fn, 'thread', 3, startNow && !booting, runTargets.get(name) ?? 0);
      th.afterBoot = startNow && booting;
    });
  }
}

function spawnThread(
  s: MachineState, code: ProgramIndex, name: string, process: string, fn: number, kind: FrameKind, cpl: number, runnable: boolean, cpuIndex: number,
): ThreadState {
  const id = s.threads.length;
  const task = newObject(s.heap, 'task');
  const ti = newObject(s.heap, 'thread_info');
  const ts = newObject(s.heap, 'thread_struct');
  const fpu = newObject(s.heap, 'fpu');
  // struct fpu embeds its two permission structs (types.h): they come with it.
  fpu.fields.perm = { ref: newObject(s.heap, 'fpu_state_perm').id };
  fpu.fields.guest_perm = { ref: newObject(s.heap, 'fpu_state_perm').id };
  fpu.fields.last_cpu = U64_MASK; // -1: no CPU holds this task's registers
  // The thread group: a process's first thread leads it; the others share its pid as tgid.
  const leader = s.threads.find((t) => t.process === process);
  const leaderTask = leader ? s.heap[leader.task]! : task;
  task.fields.pid = BigInt(id + 1);
  task.fields.tgid = leaderTask.fields.pid!;
  task.fields.group_leader = { ref: leaderTask.id };
  task.fields.thread_info = { ref: ti.id };
  task.fields.thread = { ref: ts.id };
  ts.fields.fpu = { ref: fpu.id };
  const scratch = allocate(s, SCRATCH_SIZE, `${name} scratch`);
  const bytes = s.mem.regions[s.mem.regions.length - 1]!.bytes;
  // Tile-load source data: non-zero, different per thread, deterministic.
  for (let i = 0; i < 1024; i++) bytes[SCRATCH_TILE_DATA + i] = (i * 7 + 13 * (id + 1)) & 0xff || 1;
  const frames = [code.frame(fn, kind, cpl, [])];
  // A new user thread starts in the kernel: fpu_clone() sets up its FPU (core.c fpu_clone), then it
  // returns to user mode (through exit_to_user_mode, like ret_from_fork).
  const clone = code.kernelFns.get('fpu_clone');
  if (cpl === 3 && clone !== undefined) {
    // fpu_clone() is part of fork in Linux: nothing can interrupt the new task before its FPU
    // exists. The hook runs with interrupts disabled; a fresh task then runs with them enabled.
    const hook = code.frame(clone, 'hook', 0, [{ ref: task.id }]);
    hook.irqOffBefore = false;
    frames.push(hook);
  }
  const th: ThreadState = {
    id, name, process, cpu: cpuIndex, frames, status: runnable ? 'runnable' : 'waiting',
    task: task.id, scratch, exitValue: 0n, signal: 0, switchTo: -1, afterBoot: false, moveTo: -1, shadow: null, pendingFault: null,
  };
  s.threads.push(th);
  if (runnable) s.runQueues[cpuIndex]!.push(id);
  return th;
}
