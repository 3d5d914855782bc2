// The data of the XSAVE layout view (DESIGN §7 "Layout view"): an XSAVE area as blocks at their
// offsets, for the picture the extension draws and for any DAP client (`xsave/layout`). An area is
// a CPU's live registers (their XSAVE image, standard format or, on request, the compacted form
// XSAVES would store), an fpstate's buffer, or any XSAVE area in machine memory. Offsets and sizes
// come from the model's layouts (src/model/layout.ts: standardLayout / compactedLayout, the SDM's
// Vol1 13.4 formats), never recomputed here. Each block says what matters about it now: its
// XSTATE_BV bit (SDM Vol1 13.4.2), its XINUSE bit (13.6), whether IA32_XFD disables it (13.14),
// whether it lies past the allocation; its registers decoded (components.ts) and a digest of its
// content, so that two areas (or one area at two steps) can be compared block by block.
// 64-bit values are hex strings here: they cross the wire as text, never as JS numbers.
import {
  type CpuModel, type CpuState, LEGACY_REGION_SIZE, XCOMP_BV_COMPACTED, XCOMP_BV_OFFSET, XSAVE_HEADER_OFFSET, XSAVE_HEADER_SIZE,
  XSTATE_BV_OFFSET, bitsOf, compactedLayout, compactedSize, cpuModel, formatMask, locate, readU64, standardLayout, standardSize,
  xfeatureName,
} from '../model';
import type { Engine } from '../sim/engine';
import type { KObject } from '../sim/kernel-objects';
import type { MachineState } from '../sim/machine';
import { componentFields, componentTitle, readLe, tileSummary } from './components';
import { formatMemoryRef, parseMemoryRef } from './memory-references';

/** A 64-bit value on the wire: exact hex and its decoded names. */
export interface WireMask {
  readonly hex: string;
  readonly text: string;
}

export type AreaKind = 'cpu' | 'fpstate' | 'memory';

export interface AreaInfo {
  /** `cpu:0`, `fpstate:34`, `mem:0x10a000`: what `xsave/layout` takes as `area`. */
  readonly id: string;
  readonly kind: AreaKind;
  readonly title: string;
}

export interface LayoutRegister {
  readonly name: string;
  readonly value: string;
}

export interface LayoutBlock {
  readonly kind: 'legacy' | 'header' | 'component' | 'reserved';
  /** The state component (0..62), or null for the header and the reserved bytes. */
  readonly index: number | null;
  /** `XTILEDATA`, `header`. */
  readonly name: string;
  /** `XTILEDATA (18)`. */
  readonly title: string;
  readonly offset: number;
  readonly size: number;
  readonly supervisor: boolean;
  readonly align64: boolean;
  /** XSTATE_BV[i]: the area holds the component's state (0: XRSTOR loads its initial configuration). */
  readonly inXstateBv: boolean | null;
  /** XINUSE[i] of the CPU shown: the live component may be out of its initial configuration. */
  readonly inXinuse: boolean | null;
  /** IA32_XFD[i] (the fpstate's xfd for a buffer): using the component raises #NM. */
  readonly xfdDisabled: boolean;
  /** Bytes of the block past the end of the allocation (0: all inside). */
  readonly outsideBytes: number;
  /** Bytes of the block past fpstate->size (a buffer of an fpstate). */
  readonly beyondSizeBytes: number;
  /** Class names for the picture: every state above as a word. */
  readonly classes: string[];
  /** Where its bytes are for readMemory (`0x10a0a00`, `cpu0/XTILEDATA`). */
  readonly memoryReference: string;
  /** A digest of what the block holds (its initial configuration when XSTATE_BV says so). */
  readonly digest: string;
  readonly registers: LayoutRegister[];
}

export interface LayoutData {
  readonly area: AreaInfo & {
    /** Linear address of the area (hex), or null for a CPU's registers. */
    readonly address: string | null;
    readonly cpu: number;
    readonly format: 'standard' | 'compacted';
    /** Bytes the layout spans (CPUID.(0DH,0).EBX for XCR0, or (0DH,1).EBX for XCOMP_BV). */
    readonly size: number;
    /** Bytes mapped from the area's address to the end of its allocation, or null (registers). */
    readonly allocated: number | null;
    /** fpstate->size of an fpstate's buffer, else null. */
    readonly fpstateSize: number | null;
    /** An expression the debugger evaluates to this area's owner (a watch), or null. */
    readonly evaluateName: string | null;
  };
  /** The step the machine stands at. */
  readonly position: number;
  readonly registers: {
    readonly cpu: number;
    readonly XCR0: WireMask; readonly IA32_XSS: WireMask; readonly IA32_XFD: WireMask; readonly IA32_XFD_ERR: WireMask; readonly XINUSE: WireMask;
  };
  readonly header: {
    readonly XSTATE_BV: WireMask;
    readonly XCOMP_BV: WireMask;
    readonly compacted: boolean;
    /** The bits of XCOMP_BV, decoded (bit 63: the compacted format). */
    readonly xcompBits: Array<{ readonly bit: number; readonly name: string }>;
    /** False for a CPU's registers: the header is what XSAVE would write, not stored bytes. */
    readonly stored: boolean;
  };
  /** The XFD value the blocks are marked by, and where it comes from. */
  readonly xfd: WireMask & { readonly source: string };
  readonly blocks: LayoutBlock[];
  readonly areas: AreaInfo[];
}

export class LayoutError extends Error {}

const wire = (v: bigint): WireMask => ({ hex: `0x${v.toString(16)}`, text: formatMask(v) });
const has = (m: bigint, i: number): boolean => ((m >> BigInt(i)) & 1n) === 1n;

/** Longest register text shown in a hover: wide registers are cut with an ellipsis. */
const MAX_VALUE_CHARS = 2 + 64;

/** FNV-1a over bytes, 32 bits twice (two seeds): a content digest, not a security one. */
function digestOf(b: Uint8Array, ranges: ReadonlyArray<readonly [number, number]>): string {
  let h1 = 0x811c9dc5;
  let h2 = 0x01000193 ^ 0x5bd1e995;
  for (const [a, z] of ranges) {
    for (let k = a; k < z; k++) {
      const x = b[k] ?? 0;
      h1 = Math.imul(h1 ^ x, 0x01000193) >>> 0;
      h2 = Math.imul(h2 ^ x, 0x01000193 ^ 0x2f) >>> 0;
    }
  }
  return `${h1.toString(16).padStart(8, '0')}${h2.toString(16).padStart(8, '0')}`;
}

/** The bytes of x87 and SSE inside the legacy region (SDM Vol1 13.4.1), relative to it. */
const LEGACY_BYTES: Readonly<Record<0 | 1, ReadonlyArray<readonly [number, number]>>> = {
  0: [[0, 24], [32, 160]],
  1: [[24, 32], [160, 416]],
};

// ---- areas ----------------------------------------------------------------------------------------

/** Reference fields the path search follows from a root to an fpstate. */
const FOLLOW = ['thread', 'fpu', 'fpstate', '__task_fpstate', 'arch', 'guest_fpu'];

/**
 * Names for every fpstate: a path from a vCPU, init_fpstate or a thread's task (a guest fpstate is
 * named by its vCPU first, though the task's fpu points to it while the guest runs), and an
 * expression the debugger can evaluate in the stopped frame: the first path that starts at a local,
 * a global or `current`.
 */
function fpstatePaths(e: Engine, threadId: number | null): Map<number, { title: string; evaluateName: string | null }> {
  const s = e.state;
  const out = new Map<number, { title: string; evaluateName: string | null }>();
  const roots: Array<{ id: number; title: string; expr: string | null }> = [];
  const init = s.globals.init_fpstate;
  if (init !== undefined) roots.push({ id: init, title: 'init_fpstate', expr: 'init_fpstate' });
  const th = threadId !== null ? s.threads[threadId] : undefined;
  const top = th?.frames[th.frames.length - 1];
  const fn = top ? e.fn(top) : null;
  for (const o of s.heap) {
    if (o.type !== 'vcpu') continue;
    const local = fn && top ? fn.locals.findIndex((_, i) => { const v = top.locals[i]; return v !== undefined && typeof v !== 'bigint' && v.ref === o.id; }) : -1;
    roots.push({ id: o.id, title: `vcpu ${o.fields.vcpu_id}`, expr: local >= 0 ? fn!.locals[local]! : null });
  }
  for (const t of s.threads) roots.push({ id: t.task, title: `${t.name} task`, expr: t === th ? 'current' : null });
  for (const r of roots) {
    const queue: Array<{ id: number; path: string[] }> = [{ id: r.id, path: [] }];
    for (let q = 0; q < queue.length && q < 64; q++) {
      const { id, path } = queue[q]!;
      const o: KObject | undefined = s.heap[id];
      if (!o) continue;
      if (o.type === 'fpstate') {
        const p = path.join('.');
        const expr = r.expr === null ? null : p ? `${r.expr}.${p}` : r.expr;
        const had = out.get(id);
        if (!had) out.set(id, { title: p ? `${r.title}: ${p}` : r.title, evaluateName: expr });
        else if (had.evaluateName === null && expr !== null) out.set(id, { ...had, evaluateName: expr });
        continue;
      }
      if (path.length >= 4) continue;
      for (const f of FOLLOW) {
        const v = Object.hasOwn(o.fields, f) ? o.fields[f] : undefined;
        if (v !== undefined && typeof v !== 'bigint') queue.push({ id: v.ref, path: [...path, f] });
      }
    }
  }
  return out;
}

/** Every area a view can show: each CPU's registers, then each fpstate with a buffer. */
export function listAreas(e: Engine, threadId: number | null): AreaInfo[] {
  const s = e.state;
  const out: AreaInfo[] = s.cpus.map((_, c) => ({ id: `cpu:${c}`, kind: 'cpu' as const, title: `cpu${c} registers` }));
  const paths = fpstatePaths(e, threadId);
  for (const o of s.heap) {
    if (o.type !== 'fpstate') continue;
    const regs = o.fields.regs;
    if (typeof regs !== 'bigint' || regs === 0n) continue;
    const name = paths.get(o.id)?.title ?? `fpstate #${o.id}`;
    out.push({ id: `fpstate:${o.id}`, kind: 'fpstate', title: `${name} (0x${regs.toString(16)}, ${o.fields.size} bytes)` });
  }
  return out;
}

/**
 * The area an id or a memory reference names: `cpu:N`, `fpstate:ID`, `mem:0xADDR`, or a
 * Variables-view memory reference (`0x10a000` or `0x10aa00`: the fpstate whose buffer holds it,
 * else an area in memory starting there; `cpu0/XTILEDATA`: cpu0's registers).
 */
export function resolveArea(s: MachineState, id: string): { kind: 'cpu'; cpu: number } | { kind: 'fpstate'; object: number } | { kind: 'memory'; addr: bigint } {
  let m = /^cpu:(\d{1,3})$/.exec(id);
  if (m) {
    const cpu = Number(m[1]);
    if (!s.cpus[cpu]) throw new LayoutError(`no cpu${cpu} (the machine has ${s.cpus.length})`);
    return { kind: 'cpu', cpu };
  }
  m = /^fpstate:(\d{1,9})$/.exec(id);
  if (m) {
    const o = s.heap[Number(m[1])];
    if (!o || o.type !== 'fpstate') throw new LayoutError(`'${id}': no fpstate with that id`);
    if (typeof o.fields.regs !== 'bigint' || o.fields.regs === 0n) throw new LayoutError(`'${id}': the fpstate has no buffer yet (regs is 0)`);
    return { kind: 'fpstate', object: o.id };
  }
  const ref = parseMemoryRef(id.replace(/^mem:/, ''));
  if (!ref) throw new LayoutError(`'${id.slice(0, 100)}' names no area: use cpu:N, fpstate:ID, mem:0xADDRESS or a memory reference`);
  if (ref.kind === 'cpu') {
    if (!s.cpus[ref.cpu]) throw new LayoutError(`no cpu${ref.cpu} (the machine has ${s.cpus.length})`);
    return { kind: 'cpu', cpu: ref.cpu };
  }
  if (ref.addr >= 1n << 64n) throw new LayoutError(`'${id.slice(0, 100)}' is not a 64-bit address`);
  // An address inside an fpstate's buffer (a component's memory reference in the Variables view)
  // names that fpstate's area: the allocation it lies in starts at the fpstate's regs.
  const at = locate(s.mem, ref.addr, 1);
  const base = at ? at.region.base : ref.addr;
  const owner = s.heap.find((o) => o.type === 'fpstate' && (o.fields.regs === ref.addr || o.fields.regs === base));
  return owner ? { kind: 'fpstate', object: owner.id } : { kind: 'memory', addr: ref.addr };
}

// ---- the layout ---------------------------------------------------------------------------------

export interface LayoutOptions {
  /** `cpu:N`, `fpstate:ID`, `mem:0xADDR` or a memory reference; default: the stopped thread's CPU. */
  area?: string;
  /** For a CPU's registers: the standard image (default) or the compacted one XSAVES would store. */
  format?: 'standard' | 'compacted';
  /** The thread the debugger stopped on (its CPU's XINUSE; `current` in expressions). */
  thread?: number | null;
}

/** The layout of an area as it is now. */
export function buildLayout(e: Engine, opts: LayoutOptions = {}): LayoutData {
  const s = e.state;
  const thread = opts.thread ?? (s.lastThread >= 0 ? s.lastThread : null);
  const homeCpu = thread !== null ? s.threads[thread]?.cpu ?? 0 : 0;
  const where = resolveArea(s, opts.area ?? `cpu:${homeCpu}`);
  if (opts.format && where.kind !== 'cpu') {
    throw new LayoutError('format: only a CPU\'s registers can be shown in either format; a buffer is shown in the format its XCOMP_BV says');
  }
  const cpuIndex = where.kind === 'cpu' ? where.cpu : homeCpu;
  const cpu = s.cpus[cpuIndex]!;
  const model = cpuModel(cpu.model);
  const areas = listAreas(e, thread);
  const regs = {
    cpu: cpuIndex, XCR0: wire(cpu.xcr0), IA32_XSS: wire(cpu.xss), IA32_XFD: wire(cpu.xfd), IA32_XFD_ERR: wire(cpu.xfdErr), XINUSE: wire(cpu.xinuse),
  };
  if (where.kind === 'cpu') return cpuLayout(s, cpuIndex, cpu, model, opts.format ?? 'standard', areas, regs);
  const fp = where.kind === 'fpstate' ? s.heap[where.object]! : null;
  const addr = fp ? fp.fields.regs as bigint : (where as { addr: bigint }).addr;
  return bufferLayout(e, addr, fp, cpuIndex, cpu, model, areas, regs, thread);
}

type Regs = LayoutData['registers'];

function classesOf(b: Omit<LayoutBlock, 'classes'>): string[] {
  const c: string[] = [b.kind];
  if (b.inXstateBv !== null) c.push(b.inXstateBv ? 'xstate' : 'init');
  if (b.inXinuse) c.push('xinuse');
  if (b.xfdDisabled) c.push('xfd');
  if (b.outsideBytes > 0) c.push('outside');
  if (b.beyondSizeBytes > 0) c.push('beyond-size');
  if (b.supervisor) c.push('supervisor');
  return c;
}

function block(b: Omit<LayoutBlock, 'classes'>): LayoutBlock {
  return { ...b, classes: classesOf(b) };
}

/** A component's registers as text, from its bytes at `off` (the Variables view's decoding). */
function registersOf(i: number, b: Uint8Array, off: number, size: number, tilecfg: Uint8Array | null): LayoutRegister[] {
  return componentFields(i, b, off, size, tilecfg).map((f) => {
    let value: string;
    if (f.tile !== undefined) value = tileSummary(b, off + f.offset, f.tile);
    else if (f.note) value = f.note;
    else {
      const v = readLe(b, off + f.offset, f.size);
      value = `0x${v.toString(16).padStart(f.size > 8 ? f.size * 2 : 1, '0')}`;
      if (value.length > MAX_VALUE_CHARS) value = `${value.slice(0, MAX_VALUE_CHARS)}…`;
    }
    return { name: f.name, value };
  });
}

/** The header and the reserved bytes of the legacy region, as blocks. */
function fixedBlocks(header: { stored: boolean }, ref: (offset: number) => string, digests: { header: string; reserved: string }): LayoutBlock[] {
  return [
    block({
      kind: 'reserved', index: null, name: 'reserved', title: 'legacy region, bytes 416-511 (reserved; 464-511 available to software)',
      offset: 416, size: LEGACY_REGION_SIZE - 416, supervisor: false, align64: false, inXstateBv: null, inXinuse: null, xfdDisabled: false,
      outsideBytes: 0, beyondSizeBytes: 0, memoryReference: ref(416), digest: digests.reserved, registers: [],
    }),
    block({
      kind: 'header', index: null, name: 'header', title: header.stored ? 'XSAVE header (XSTATE_BV, XCOMP_BV)' : 'XSAVE header (what XSAVE would write)',
      offset: XSAVE_HEADER_OFFSET, size: XSAVE_HEADER_SIZE, supervisor: false, align64: true, inXstateBv: null, inXinuse: null, xfdDisabled: false,
      outsideBytes: 0, beyondSizeBytes: 0, memoryReference: ref(XSAVE_HEADER_OFFSET), digest: digests.header, registers: [],
    }),
  ];
}

function cpuLayout(s: MachineState, k: number, cpu: CpuState, model: CpuModel, format: 'standard' | 'compacted', areas: AreaInfo[], regs: Regs): LayoutData {
  // What XSAVE (standard) or XSAVES (compacted, XCR0 | IA32_XSS) would store: RFBM = the enabled
  // components; XSTATE_BV[i] = XINUSE[i] for them (SDM Vol2 XSAVE/XSAVES, ignoring XSAVEOPT's skips).
  const rfbm = format === 'standard' ? cpu.xcr0 : cpu.xcr0 | cpu.xss;
  const entries = format === 'standard' ? standardLayout(model, rfbm) : compactedLayout(model, rfbm | 3n);
  const size = format === 'standard' ? standardSize(model, rfbm) : compactedSize(model, rfbm);
  const xstateBv = cpu.xinuse & rfbm;
  const xcompBv = format === 'compacted' ? rfbm | XCOMP_BV_COMPACTED : 0n;
  const blocks: LayoutBlock[] = [];
  for (const l of entries) {
    const i = l.index;
    const img = i < 2 ? cpu.legacy : cpu.ext[i];
    const inUse = has(cpu.xinuse, i);
    const bytes = img ?? new Uint8Array(0);
    blocks.push(block({
      kind: i < 2 ? 'legacy' : 'component', index: i, name: l.name, title: componentTitle(i), offset: l.offset, size: l.size,
      supervisor: l.supervisor, align64: l.align64, inXstateBv: has(xstateBv, i), inXinuse: inUse, xfdDisabled: has(cpu.xfd, i),
      outsideBytes: 0, beyondSizeBytes: 0,
      memoryReference: formatMemoryRef({ kind: 'cpu', cpu: k, component: i, offset: 0 }),
      // XINUSE[i] = 0 guarantees the initial configuration (SDM Vol1 13.6): compared as such.
      digest: inUse ? digestOf(bytes, i < 2 ? LEGACY_BYTES[i as 0 | 1] : [[0, bytes.length]]) : 'init',
      registers: img ? registersOf(i, bytes, 0, i < 2 ? LEGACY_REGION_SIZE : bytes.length, cpu.ext[17] ?? null) : [],
    }));
  }
  // A CPU's header and reserved bytes are not stored anywhere: no memory reference.
  blocks.push(...fixedBlocks({ stored: false }, () => '', {
    header: `${xstateBv.toString(16)}:${xcompBv.toString(16)}`, reserved: 'reserved',
  }));
  blocks.sort((a, b) => a.offset - b.offset);
  return {
    area: {
      id: `cpu:${k}`, kind: 'cpu', title: `cpu${k} registers`, address: null, cpu: k, format, size, allocated: null, fpstateSize: null, evaluateName: null,
    },
    position: s.steps,
    registers: regs,
    header: { XSTATE_BV: wire(xstateBv), XCOMP_BV: wire(xcompBv), compacted: format === 'compacted', xcompBits: xcompBits(xcompBv), stored: false },
    xfd: { ...wire(cpu.xfd), source: `cpu${k} IA32_XFD` },
    blocks,
    areas,
  };
}

function xcompBits(v: bigint): Array<{ bit: number; name: string }> {
  return bitsOf(v).map((bit) => ({ bit, name: bit === 63 ? 'COMPACTED' : xfeatureName(bit) }));
}

function bufferLayout(
  e: Engine, addr: bigint, fp: KObject | null, k: number, cpu: CpuState, model: CpuModel, areas: AreaInfo[], regs: Regs, thread: number | null,
): LayoutData {
  const s = e.state;
  const at = locate(s.mem, addr, 1);
  if (!at) throw new LayoutError(`0x${addr.toString(16)} is not mapped: no XSAVE area there`);
  const region = at.region.bytes;
  const base = at.offset;
  const allocated = region.length - base;
  if (allocated < XSAVE_HEADER_OFFSET + XSAVE_HEADER_SIZE) {
    throw new LayoutError(`0x${addr.toString(16)}: only ${allocated} bytes are mapped there, less than the legacy region and the header (576)`);
  }
  const xstateBv = readU64(region, base + XSTATE_BV_OFFSET);
  const xcompBv = readU64(region, base + XCOMP_BV_OFFSET);
  const compacted = (xcompBv & XCOMP_BV_COMPACTED) !== 0n;
  const unknown = compacted ? xcompBv & ~XCOMP_BV_COMPACTED & ~(model.xcr0Supported | model.xssSupported) : 0n;
  if (unknown) {
    // XRSTORS would #GP on it (SDM Vol2 XRSTORS: XCOMP_BV bits the CPU does not support): no layout.
    throw new LayoutError(`0x${addr.toString(16)}: XCOMP_BV ${formatMask(xcompBv)} names components ${model.name} does not have (${formatMask(unknown)}): not an XSAVE area in the compacted format`);
  }
  // The components the area holds: XCOMP_BV's in the compacted format (SDM Vol1 13.4.3); in the
  // standard format every user component the buffer's owner enables (fpstate->xfeatures), else XCR0.
  const features = compacted ? xcompBv & ~XCOMP_BV_COMPACTED : fp ? fp.fields.xfeatures as bigint : cpu.xcr0;
  const entries = compacted ? compactedLayout(model, features | 3n) : standardLayout(model, features | 3n);
  const size = compacted ? compactedSize(model, features) : standardSize(model, features);
  const fpSize = fp && typeof fp.fields.size === 'bigint' ? Number(fp.fields.size) : null;
  // An fpstate's xfd is the IA32_XFD the kernel runs it with (Linux xfd_update_state()); a bare
  // area is marked by the CPU's IA32_XFD.
  const xfd = fp ? fp.fields.xfd as bigint : cpu.xfd;
  const blocks: LayoutBlock[] = [];
  for (const l of entries) {
    const i = l.index;
    const from = l.offset;
    const to = from + l.size;
    const inArea = has(xstateBv, i);
    const readable = Math.max(0, Math.min(to, allocated) - from);
    const bytes = region.subarray(base + from, base + from + readable);
    let registers: LayoutRegister[] = [];
    if (readable === l.size && i >= 2) registers = registersOf(i, bytes, 0, l.size, null);
    else if (i < 2) registers = registersOf(i, region.subarray(base, base + LEGACY_REGION_SIZE), 0, LEGACY_REGION_SIZE, null);
    if (i === 18 && readable === l.size) {
      // Tile shapes come from the area's own TILECFG when it holds one.
      const cfg = entries.find((x) => x.index === 17);
      const cfgBytes = cfg && has(xstateBv, 17) ? region.subarray(base + cfg.offset, base + cfg.offset + 64) : null;
      registers = registersOf(i, bytes, 0, l.size, cfgBytes);
    }
    blocks.push(block({
      kind: i < 2 ? 'legacy' : 'component', index: i, name: l.name, title: componentTitle(i), offset: from, size: l.size,
      supervisor: l.supervisor, align64: l.align64, inXstateBv: inArea, inXinuse: has(cpu.xinuse, i), xfdDisabled: has(xfd, i),
      outsideBytes: Math.max(0, to - Math.max(from, allocated)),
      beyondSizeBytes: fpSize === null ? 0 : Math.max(0, to - Math.max(from, fpSize)),
      memoryReference: formatMemoryRef({ kind: 'mem', addr: addr + BigInt(from) }),
      // A component whose XSTATE_BV bit is clear holds its initial configuration, whatever its bytes.
      digest: !inArea ? 'init' : readable < l.size ? `partial:${readable}` : digestOf(region, (i < 2 ? LEGACY_BYTES[i as 0 | 1] : [[0, l.size]]).map(([a, z]) => [base + (i < 2 ? a : from + a), base + (i < 2 ? z : from + z)] as const)),
      registers: inArea ? registers : [],
    }));
  }
  blocks.push(...fixedBlocks({ stored: true }, (o) => formatMemoryRef({ kind: 'mem', addr: addr + BigInt(o) }), {
    header: digestOf(region, [[base + XSAVE_HEADER_OFFSET, base + XSAVE_HEADER_OFFSET + XSAVE_HEADER_SIZE]]),
    reserved: digestOf(region, [[base + 416, base + LEGACY_REGION_SIZE]]),
  }));
  blocks.sort((a, b) => a.offset - b.offset);
  const paths = fp ? fpstatePaths(e, thread).get(fp.id) : undefined;
  const id = fp ? `fpstate:${fp.id}` : `mem:0x${addr.toString(16)}`;
  const title = fp ? `${paths?.title ?? `fpstate #${fp.id}`} (0x${addr.toString(16)})` : `XSAVE area at 0x${addr.toString(16)}`;
  return {
    area: {
      id, kind: fp ? 'fpstate' : 'memory', title, address: `0x${addr.toString(16)}`, cpu: k, format: compacted ? 'compacted' : 'standard',
      size, allocated, fpstateSize: fpSize, evaluateName: paths?.evaluateName ?? null,
    },
    position: s.steps,
    registers: regs,
    header: { XSTATE_BV: wire(xstateBv), XCOMP_BV: wire(xcompBv), compacted, xcompBits: xcompBits(xcompBv), stored: true },
    xfd: { ...wire(xfd), source: fp ? 'fpstate->xfd' : `cpu${k} IA32_XFD` },
    blocks,
    areas,
  };
}
