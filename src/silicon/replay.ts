// Replays a silicon log on the model and reports every place where the model disagrees with the
// CPU that recorded it. Each sequence's operations run on a fresh model CPU configured as the
// probe's process was (XCR0 from the log, CPL 3, IA32_XFD[18] armed without AMX permission, cleared
// with it); after each operation the model's XGETBV(0), XGETBV(1), fault (as the signal and si_code
// Linux would deliver) and, for saves, the whole saved area are compared with what the CPU showed.
//
// Context-switch noise: a sequence is run several times from the same start; where its runs
// disagree with each other, the kernel ran in between (a context switch saves and restores the
// task's state with XSAVES/XRSTORS, which can change XINUSE and defeat XSAVEOPT's modified
// optimization), so that sequence's differences are counted as noise, not as rules.
import { type Mask, XCOMP_BV_COMPACTED, bitsOf, readLE, readU64 } from '../model/bits';
import { cpuModel } from '../model/cpu-model';
import { type CpuState, createCpu, modelOf } from '../model/cpu-state';
import type { Fault, Outcome } from '../model/fault';
import { compacted, XCOMP_BV_OFFSET } from '../model/layout';
import { type Memory, type MemRegion, createMemory, mapRegion } from '../model/memory';
import { fld, fninit, kmovq, ldmxcsr, movdqa, vmovdqa64Zmm, vmovdqaXmm, vmovdqaYmm, vzeroall, vzeroupper } from '../model/registers';
import { ldtilecfg, tileloadd, tilerelease, tilezero } from '../model/amx';
import { xrstor } from '../model/xrstor';
import { xsave, xsavec, xsaveopt } from '../model/xsave';
import { xgetbv } from '../model/xsetbv';
import { XFEATURE_MASK_XTILE_DATA, xfeatureName } from '../model/xfeatures';
import { deliverSignalAndReturn, prepareInitFpstate, type SignalFrames } from './linux-signal';
import type { SiliconHeader, SiliconLog, SiliconOp, SiliconSequence } from './log';
import { RULE_TITLES, type SiliconRule, ruleOf } from './rules';

/** The probe's work areas are 12,288 bytes; area 2 is the all-init image. */
export const AREA_BYTES = 12288;
const AREA_BASE = [0x10000n, 0x20000n, 0x30000n] as const;
const TILESRC_BASE = 0x40000n;
const TILECFG_BASE = 0x50000n;
const FRAME_BASE = 0x7ffe0000n;
const INIT_FPSTATE_BASE = 0xffffffff82000000n;

/** Linux's signal for each fault the probe can meet (arch/x86/kernel/traps.c). */
const SIGILL = 4;
const SIGSEGV = 11;
const ILL_ILLOPC = 1;
const ILL_ILLOPN = 2;
const SI_KERNEL = 128;
const SEGV_MAPERR = 1;

export function signalOf(f: Fault): { sig: number; code: number } {
  switch (f.mnemonic) {
    case '#UD': return { sig: SIGILL, code: ILL_ILLOPN }; // do_error_trap(..., ILL_ILLOPN)
    case '#NM': return { sig: SIGILL, code: ILL_ILLOPC }; // handle_xfd_event(): no permission
    case '#GP': return { sig: SIGSEGV, code: SI_KERNEL }; // exc_general_protection(): force_sig(SIGSEGV)
    case '#PF': return { sig: SIGSEGV, code: SEGV_MAPERR };
  }
}

export type DifferenceKind = 'fault' | 'xcr0' | 'xinuse' | 'image';

export interface Difference {
  readonly seq: number;
  readonly name: string;
  readonly i: number;
  readonly op: string;
  readonly kind: DifferenceKind;
  /** What differs, stable across occurrences: "VMOVZ xinuse[ZMM_Hi256]", "XSAVEOPT image XTILECFG". */
  readonly key: string;
  readonly detail: string;
  /** The sequence's runs disagree with each other: the kernel ran in between. */
  readonly noise: boolean;
  /** The row of spec/silicon.md that explains it (rules.ts). */
  readonly rule: SiliconRule;
}

export interface ReplayReport {
  readonly mode: string;
  readonly sequences: number;
  readonly runs: number;
  /** Instructions replayed (operations other than POKE and FILL), first runs only. */
  readonly instructions: number;
  readonly noisySequences: number;
  /** Every difference, in replay order (after the first in a sequence, state may have diverged). */
  readonly differences: Difference[];
  /** The first difference of each sequence that has one: the rule that broke first. */
  readonly firstDifferences: Difference[];
}

interface Machine {
  cpu: CpuState;
  mem: Memory;
  areas: MemRegion[];
  tilecfg: MemRegion;
  frames: SignalFrames;
  userXfeatures: Mask;
  fldRip: bigint;
}

function xcr0Of(log: SiliconLog): Mask {
  for (const s of log.sequences) for (const r of s.runs) for (const op of r.ops) return op.x0;
  const [eax, , , edx] = log.header.cpuid0d[0]!;
  return (BigInt(edx) << 32n) | BigInt(eax);
}

/**
 * Checks that the model's CPU lays out the log's components as the recording CPU did
 * (CPUID.(0DH,i) EAX size and EBX offset for every user component in XCR0).
 */
export function checkLayout(header: SiliconHeader, xcr0: Mask, modelName: string): string | null {
  const model = cpuModel(modelName);
  for (const i of bitsOf(xcr0)) {
    if (i < 2) continue;
    const c = model.components.get(i);
    const leaf = header.cpuid0d[i];
    if (!c || !leaf) return `component ${i} (${xfeatureName(i)}) is in XCR0 but not in the model or the log's CPUID`;
    if (c.size !== leaf[0] || c.offset !== leaf[1]) {
      return `component ${i} (${xfeatureName(i)}): the log's CPU has size ${leaf[0]} at ${leaf[1]}, ${modelName} ${c.size} at ${c.offset}`;
    }
  }
  return null;
}

/** The address of the probe's FLD: from the header, else the most common FIP saved after an FLD. */
function fldRipOf(log: SiliconLog): bigint {
  if (log.header.fldRip !== null) return log.header.fldRip;
  const counts = new Map<bigint, number>();
  for (const s of log.sequences) {
    const ops = s.runs[0]?.ops ?? [];
    let sinceFld = false;
    for (const op of ops) {
      if (op.t === 'FLD') sinceFld = true;
      else if (op.t === 'XRSTOR' || op.t === 'FNINIT' || op.sig !== 0) sinceFld = false;
      else if (op.snap && sinceFld && op.snap.length >= 24) {
        const fip = readLE(op.snap, 8, 8);
        if (fip !== 0n) counts.set(fip, (counts.get(fip) ?? 0) + 1);
      }
    }
  }
  let best = 0n;
  let n = 0;
  for (const [v, c] of counts) if (c > n) { best = v; n = c; }
  return best;
}

function createMachine(log: SiliconLog, xcr0: Mask, modelName: string, fldRip: bigint): Machine {
  const cpu = createCpu(modelName, { osxsave: true });
  cpu.xcr0 = xcr0;
  cpu.cpl = 3;
  const perm = log.header.mode !== 'noperm';
  // Without permission the kernel keeps XFD[18] armed; with it (after the first use) cleared.
  cpu.xfd = perm ? 0n : XFEATURE_MASK_XTILE_DATA & xcr0;
  const mem = createMemory();
  const areas = AREA_BASE.map((b, k) => mapRegion(mem, b, AREA_BYTES, `area ${k}`));
  // Area 2: an all-init image (FCW 037FH, MXCSR 1F80H, XSTATE_BV 0).
  areas[2]!.bytes[0] = 0x7f; areas[2]!.bytes[1] = 0x03; areas[2]!.bytes[24] = 0x80; areas[2]!.bytes[25] = 0x1f;
  const tilesrc = mapRegion(mem, TILESRC_BASE, 1024, 'tilesrc');
  tilesrc.bytes.set(log.header.tilesrc);
  const tilecfg = mapRegion(mem, TILECFG_BASE, 64, 'tilecfg');
  // fpstate->user_xfeatures: without permission the dynamic feature XTILEDATA is left out.
  const userXfeatures = perm ? xcr0 : xcr0 & ~XFEATURE_MASK_XTILE_DATA;
  const frames: SignalFrames = {
    frame: mapRegion(mem, FRAME_BASE, AREA_BYTES, 'signal frame'),
    initFpstate: mapRegion(mem, INIT_FPSTATE_BASE, AREA_BYTES, 'init_fpstate'),
  };
  prepareInitFpstate(frames.initFpstate, xcr0);
  return { cpu, mem, areas, tilecfg, frames, userXfeatures, fldRip };
}

const u128 = (d: Uint8Array) => readLE(d, 0, 16);

function execute(m: Machine, op: SiliconOp): Outcome<unknown> | null {
  const { cpu, mem } = m;
  const area = m.areas[op.area];
  switch (op.t) {
    case 'FLD': return fld(cpu, readLE(op.data, 0, 10), { rip: m.fldRip });
    case 'FNINIT': return fninit(cpu);
    case 'MOVDQA': return movdqa(cpu, op.reg, u128(op.data));
    case 'VMOVX': return vmovdqaXmm(cpu, op.reg, u128(op.data));
    case 'VMOVY': return vmovdqaYmm(cpu, op.reg, readLE(op.data, 0, 32));
    case 'VMOVZ': return vmovdqa64Zmm(cpu, op.reg, readLE(op.data, 0, 64));
    case 'KMOV': return kmovq(cpu, op.reg, readLE(op.data, 0, 8));
    case 'VZEROUPPER': return vzeroupper(cpu);
    case 'VZEROALL': return vzeroall(cpu);
    case 'LDMXCSR': return ldmxcsr(cpu, Number(readLE(op.data, 0, 4)));
    case 'LDTILECFG':
      m.tilecfg.bytes.set(op.data);
      return ldtilecfg(cpu, mem, m.tilecfg.base);
    case 'TILELOADD': return tileloadd(cpu, mem, op.reg, TILESRC_BASE, 64n);
    case 'TILEZERO': return tilezero(cpu, op.reg);
    case 'TILERELEASE': return tilerelease(cpu);
    case 'XSAVE': return xsave(cpu, mem, needArea(area, op).base, op.rfbm);
    case 'XSAVEC': return xsavec(cpu, mem, needArea(area, op).base, op.rfbm);
    case 'XSAVEOPT': return xsaveopt(cpu, mem, needArea(area, op).base, op.rfbm);
    case 'XRSTOR': return xrstor(cpu, mem, needArea(area, op).base, op.rfbm);
    case 'POKE':
      if (op.off + op.len > AREA_BYTES || op.len > 64) throw new Error(`POKE of ${op.len} bytes at ${op.off} outside the area`);
      needArea(area, op).bytes.set(op.data.subarray(0, op.len), op.off);
      return null;
    case 'FILL':
      needArea(area, op).bytes.fill(op.fill);
      return null;
  }
}

function needArea(area: MemRegion | undefined, op: SiliconOp): MemRegion {
  if (!area) throw new Error(`operation ${op.i} (${op.t}) names area ${op.area}, which the probe does not have`);
  return area;
}

/** Names the field at byte `off` of a saved area, for a difference's key. */
function fieldAt(cpu: CpuState, op: SiliconOp, off: number, image: Uint8Array): string {
  const legacy: Array<[number, number, string]> = [
    [0, 2, 'FCW'], [2, 4, 'FSW'], [4, 5, 'FTW'], [5, 6, 'reserved'], [6, 8, 'FOP'], [8, 16, 'FIP'], [16, 24, 'FDP'],
    [24, 28, 'MXCSR'], [28, 32, 'MXCSR_MASK'], [32, 160, 'ST'], [160, 416, 'XMM'], [416, 512, 'legacy reserved'],
    [512, 520, 'XSTATE_BV'], [520, 528, 'XCOMP_BV'], [528, 576, 'header reserved'],
  ];
  for (const [a, b, name] of legacy) if (off >= a && off < b) return name;
  const model = modelOf(cpu);
  const xcompBv = readU64(image, XCOMP_BV_OFFSET);
  const compactedForm = op.t === 'XSAVEC';
  for (const c of model.components.values()) {
    const start = compactedForm ? compacted(model, xcompBv & ~XCOMP_BV_COMPACTED).offsets[c.index]! : c.offset;
    if (start >= 0 && off >= start && off < start + c.size) return xfeatureName(c.index);
  }
  return 'beyond the components';
}

function maskNames(m: Mask): string {
  return bitsOf(m).map(xfeatureName).join(' ');
}

interface Observation { x0: Mask; x1: Mask | null; sig: number; code: number; h: string | null }

/** True when every run of the sequence observed the same thing after every operation. */
export function runsAgree(s: SiliconSequence): boolean {
  const first = s.runs[0];
  if (!first) return true;
  for (const r of s.runs.slice(1)) {
    if (r.ops.length !== first.ops.length) return false;
    for (let k = 0; k < r.ops.length; k++) {
      const a: Observation = first.ops[k]!;
      const b: Observation = r.ops[k]!;
      if (a.x0 !== b.x0 || a.x1 !== b.x1 || a.sig !== b.sig || a.code !== b.code || a.h !== b.h) return false;
    }
  }
  return true;
}

export interface ReplayOptions {
  /** The model CPU to replay on (default sapphire-rapids). */
  readonly model?: string;
}

/** Replays every sequence of a log (its first run, which carries the saved images). */
export function replayLog(log: SiliconLog, options: ReplayOptions = {}): ReplayReport {
  const modelName = options.model ?? 'sapphire-rapids';
  const xcr0 = xcr0Of(log);
  const problem = checkLayout(log.header, xcr0, modelName);
  if (problem) throw new Error(`the log was recorded on a CPU the model '${modelName}' does not describe: ${problem}`);
  const fldRip = fldRipOf(log);
  const differences: Difference[] = [];
  const firstDifferences: Difference[] = [];
  let runs = 0;
  let instructions = 0;
  let noisy = 0;
  for (const s of log.sequences) {
    runs += s.runs.length;
    const noise = !runsAgree(s);
    if (noise) noisy++;
    const run = s.runs[0];
    if (!run) continue;
    const m = createMachine(log, xcr0, modelName, fldRip);
    let first: Difference | null = null;
    const report = (op: SiliconOp, kind: DifferenceKind, what: string, key: string, detail: string, faults?: { model: number; silicon: number }) => {
      const rule = ruleOf(op.t, kind, what, faults);
      const d: Difference = { seq: s.seq, name: s.name, i: op.i, op: op.t, kind, key: `${op.t} ${key}`, detail, noise, rule };
      differences.push(d);
      if (!first) first = d;
    };
    for (const op of run.ops) {
      if (op.t !== 'POKE' && op.t !== 'FILL') instructions++;
      const out = execute(m, op);
      let sig = 0;
      let code = 0;
      if (out && out.kind === 'fault') {
        ({ sig, code } = signalOf(out.fault));
        deliverSignalAndReturn(m.cpu, m.mem, m.frames, m.userXfeatures);
      } else if (out && out.kind !== 'ok') {
        throw new Error(`operation ${op.i} (${op.t}) ended in ${out.kind}, which user mode cannot`);
      }
      if (sig !== op.sig || code !== op.code) {
        const why = out && out.kind === 'fault' ? out.fault.reason : 'no fault';
        report(op, 'fault', '', 'fault', `model ${sig}/${code} (${why}), silicon ${op.sig}/${op.code}`, { model: sig, silicon: op.sig });
      }
      const x0 = m.cpu.xcr0;
      if (x0 !== op.x0) report(op, 'xcr0', '', 'xcr0', `model 0x${x0.toString(16)}, silicon 0x${op.x0.toString(16)}`);
      const g = xgetbv(m.cpu, 1);
      const x1 = g.kind === 'ok' ? g.value : -1n;
      if (op.x1 !== null && x1 !== op.x1) {
        const diff = x1 ^ op.x1;
        report(op, 'xinuse', maskNames(diff), `xinuse[${maskNames(diff)}]`, `XGETBV(1): model 0x${x1.toString(16)}, silicon 0x${op.x1.toString(16)}`);
        // Follow the CPU's XINUSE from here on, so one difference is not reported at every later step.
        m.cpu.xinuse = (m.cpu.xinuse & ~m.cpu.xcr0) | (op.x1 & m.cpu.xcr0);
      }
      if (op.snap) {
        const area = m.areas[op.area]!.bytes;
        if (op.snap.length !== area.length) throw new Error(`operation ${op.i}: snap of ${op.snap.length} bytes, area of ${area.length}`);
        const fields = new Set<string>();
        let firstOff = -1;
        for (let k = 0; k < area.length; k++) {
          if (area[k] !== op.snap[k]) {
            if (firstOff < 0) firstOff = k;
            fields.add(fieldAt(m.cpu, op, k, op.snap));
          }
        }
        if (fields.size) {
          for (const f of fields) {
            report(op, 'image', f, `image ${f}`, `first differing byte at ${firstOff}: model 0x${area[firstOff]!.toString(16)}, silicon 0x${op.snap[firstOff]!.toString(16)}`);
          }
          // Follow the CPU's bytes, so the next save is compared on its own merits.
          area.set(op.snap);
        }
      }
    }
    if (first) firstDifferences.push(first);
  }
  return {
    mode: log.header.mode,
    sequences: log.sequences.length,
    runs,
    instructions,
    noisySequences: noisy,
    differences,
    firstDifferences,
  };
}

/** Differences counted by `keyOf`, the rules apart from context-switch noise. */
function countBy<K extends string>(ds: readonly Difference[], keyOf: (d: Difference) => K): Map<K, { rules: number; noise: number }> {
  const m = new Map<K, { rules: number; noise: number }>();
  for (const d of ds) {
    const k = keyOf(d);
    let e = m.get(k);
    if (!e) m.set(k, (e = { rules: 0, noise: 0 }));
    if (d.noise) e.noise++;
    else e.rules++;
  }
  return m;
}

/** Counts by key (operation and observable), most first: the report's detail. */
export function countByKey(ds: readonly Difference[]): Array<{ key: string; rules: number; noise: number }> {
  return [...countBy(ds, (d) => d.key)].map(([key, c]) => ({ key, ...c }))
    .sort((a, b) => b.rules - a.rules || b.noise - a.noise || a.key.localeCompare(b.key));
}

/** Counts by rule, in the order of silicon.md. */
export function countByRule(ds: readonly Difference[]): Array<{ rule: SiliconRule; rules: number; noise: number }> {
  const order = Object.keys(RULE_TITLES);
  return [...countBy(ds, (d) => d.rule)].map(([rule, c]) => ({ rule, ...c }))
    .sort((a, b) => order.indexOf(a.rule) - order.indexOf(b.rule));
}
