// Guest-physical or host-virtual memory as the instructions see it: a list of mapped regions, each
// a byte array at a 64-bit linear address. An access that is not wholly inside one region faults
// with #PF, the architectural fault for touching unmapped memory; nothing is written before every
// byte of the access has been checked. The simulator decides what is mapped (a kernel allocation,
// a guest page); the model never grows a region.
import { type U64, U64_MAX } from './bits';
import { ModelArgumentError } from './cpu-model';

export interface MemRegion {
  /** Linear address of bytes[0]. */
  readonly base: U64;
  readonly bytes: Uint8Array;
  /** What the region is, for messages ("guest_fpu.fpstate", "task 12 fpstate"). */
  readonly name: string;
}

export interface Memory {
  regions: MemRegion[];
  /**
   * Set only while the simulator's explorer learns what an instruction touches (src/sim/footprint.ts):
   * every region an access locates is added. Absent otherwise, and never copied with the state.
   */
  touched?: Set<MemRegion>;
}

export function createMemory(regions: MemRegion[] = []): Memory {
  return { regions };
}

export function mapRegion(mem: Memory, base: U64, size: number, name: string): MemRegion {
  if (typeof base !== 'bigint' || base < 0n || base > U64_MAX) throw new ModelArgumentError('base', 'not a 64-bit address');
  if (!Number.isInteger(size) || size <= 0) throw new ModelArgumentError('size', `bad region size ${size}`);
  const end = base + BigInt(size);
  for (const r of mem.regions) {
    const rEnd = r.base + BigInt(r.bytes.length);
    if (base < rEnd && r.base < end) throw new ModelArgumentError('base', `region '${name}' overlaps '${r.name}'`);
  }
  const region = { base, bytes: new Uint8Array(size), name };
  mem.regions.push(region);
  return region;
}

/** The region and offset that hold [addr, addr+len), or null when any byte is unmapped. */
export function locate(mem: Memory, addr: U64, len: number): { region: MemRegion; offset: number } | null {
  for (const r of mem.regions) {
    if (addr >= r.base) {
      const off = addr - r.base;
      if (off + BigInt(len) <= BigInt(r.bytes.length)) {
        mem.touched?.add(r);
        return { region: r, offset: Number(off) };
      }
    }
  }
  return null;
}

/** Reads len bytes for the debugger or a test; null when unmapped. */
export function readBytes(mem: Memory, addr: U64, len: number): Uint8Array | null {
  const at = locate(mem, addr, len);
  return at ? at.region.bytes.slice(at.offset, at.offset + len) : null;
}

export function writeBytes(mem: Memory, addr: U64, data: Uint8Array): boolean {
  const at = locate(mem, addr, data.length);
  if (!at) return false;
  at.region.bytes.set(data, at.offset);
  return true;
}
