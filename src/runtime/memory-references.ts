// Memory references: what readMemory and writeMemory address. An XSAVE buffer lives in the machine's
// memory at a linear address (`0x100000`), so VS Code's binary view shows its real bytes at their
// real offsets (XSTATE_BV at +0x200, each component where CPUID 0DH puts it). A CPU's live
// registers are not in memory; their component image is its own address space
// (`cpu0/XTILEDATA+0x400` is tmm1), in the standard format the model keeps them in.
import { type CpuState, locate, xfeatureName } from '../model';
import type { MachineState } from '../sim/machine';

export type MemoryRef =
  | { readonly kind: 'mem'; readonly addr: bigint }
  | { readonly kind: 'cpu'; readonly cpu: number; readonly component: number; readonly offset: number };

export function formatMemoryRef(m: MemoryRef): string {
  if (m.kind === 'mem') return `0x${m.addr.toString(16)}`;
  return `cpu${m.cpu}/${xfeatureName(m.component)}${m.offset ? `+0x${m.offset.toString(16)}` : ''}`;
}

export function parseMemoryRef(text: string, names: (i: number) => string = xfeatureName): MemoryRef | null {
  const mem = /^0x([0-9a-f]+)$/i.exec(text.trim());
  if (mem) return { kind: 'mem', addr: BigInt(`0x${mem[1]}`) };
  const cpu = /^cpu(\d+)\/([A-Za-z0-9_]+)(?:\+0x([0-9a-f]+))?$/i.exec(text.trim());
  if (!cpu) return null;
  for (let i = 0; i < 64; i++) {
    if (names(i) === cpu[2]) return { kind: 'cpu', cpu: Number(cpu[1]), component: i, offset: cpu[3] ? parseInt(cpu[3], 16) : 0 };
  }
  return null;
}

/** The CPU's image of a component: the legacy region for x87/SSE, else its standard-format image. */
function image(cpu: CpuState, i: number): Uint8Array | null {
  return i < 2 ? cpu.legacy : cpu.ext[i] ?? null;
}

/**
 * Reads `count` bytes at `ref + offset`: the readable prefix, and how many bytes after it cannot be
 * read (unmapped memory, the end of a component image).
 */
export function readMemory(s: MachineState, ref: MemoryRef, offset: number, count: number): { address: string; data: Uint8Array; unreadable: number } {
  if (ref.kind === 'mem') {
    const start = ref.addr + BigInt(offset);
    const loc = locate(s.mem, start, 1);
    if (!loc) return { address: `0x${start.toString(16)}`, data: new Uint8Array(0), unreadable: count };
    const n = Math.min(count, loc.region.bytes.length - loc.offset);
    return { address: `0x${start.toString(16)}`, data: loc.region.bytes.slice(loc.offset, loc.offset + n), unreadable: count - n };
  }
  const cpu = s.cpus[ref.cpu];
  const img = cpu ? image(cpu, ref.component) : null;
  const at = ref.offset + offset;
  const address = formatMemoryRef({ ...ref, offset: at });
  if (!img || at < 0 || at >= img.length) return { address, data: new Uint8Array(0), unreadable: count };
  const n = Math.min(count, img.length - at);
  return { address, data: img.slice(at, at + n), unreadable: count - n };
}

/** Writes bytes; returns how many were written (a write past the mapped range stops there). */
export function writeMemory(s: MachineState, ref: MemoryRef, offset: number, data: Uint8Array): number {
  if (ref.kind === 'mem') {
    const start = ref.addr + BigInt(offset);
    const loc = locate(s.mem, start, 1);
    if (!loc) return 0;
    const n = Math.min(data.length, loc.region.bytes.length - loc.offset);
    loc.region.bytes.set(data.subarray(0, n), loc.offset);
    return n;
  }
  const cpu = s.cpus[ref.cpu];
  const img = cpu ? image(cpu, ref.component) : null;
  const at = ref.offset + offset;
  if (!img || at < 0 || at >= img.length) return 0;
  const n = Math.min(data.length, img.length - at);
  img.set(data.subarray(0, n), at);
  return n;
}
