// Moving one state component between the CPU's registers and an XSAVE area. The CPU keeps each
// component as its XSAVE image (cpu-state.ts), so a save is a byte copy; a load copies only the
// bits the SDM says are loaded, so reserved bytes of the image never reach the registers
// (SDM Vol1 13.5.1-13.5.2: FOP is 11 bits, each ST slot uses 10 of its 16 bytes, MXCSR_MASK is
// ignored by XRSTOR).
import { type XFeature, readU16, writeU16 } from './bits';
import type { CpuState } from './cpu-state';
import { FCW, FOP, FTW, MXCSR, ST0, XMM_RANGE, X87_RANGES, fcwAsStored } from './legacy-region';

/** Stores component i (x87, SSE's XMM registers, or i >= 2) into `area` whose byte 0 is at `base`. */
export function storeComponent(cpu: CpuState, i: XFeature, area: Uint8Array, base: number, offset: number): void {
  if (i === 0) {
    for (const [a, b] of X87_RANGES) area.set(cpu.legacy.subarray(a, b), base + a);
  } else if (i === 1) {
    area.set(cpu.legacy.subarray(XMM_RANGE[0], XMM_RANGE[1]), base + XMM_RANGE[0]);
  } else {
    area.set(cpu.ext[i]!, base + offset);
  }
}

/** Stores MXCSR and MXCSR_MASK (bytes 24..31). */
export function storeMxcsr(cpu: CpuState, area: Uint8Array, base: number): void {
  area.set(cpu.legacy.subarray(MXCSR, MXCSR + 8), base + MXCSR);
}

/** Writes component i's initial configuration to its slot (XSAVE of an XFD-disabled component, spec §5.5). */
export function storeInitComponent(size: number, area: Uint8Array, base: number, offset: number): void {
  area.fill(0, base + offset, base + offset + size);
}

/** Loads component i from `area`. */
export function loadComponent(cpu: CpuState, i: XFeature, area: Uint8Array, base: number, offset: number): void {
  if (i === 0) {
    const l = cpu.legacy;
    l.set(area.subarray(base, base + 5), 0); // FCW, FSW, abridged FTW
    writeU16(l, FCW, fcwAsStored(readU16(area, base + FCW))); // reserved FCW bits are not stored (silicon.md R9)
    l[FTW + 1] = 0; // reserved
    writeU16(l, FOP, readU16(area, base + FOP) & 0x7ff);
    l.set(area.subarray(base + 8, base + 24), 8); // FIP, FDP (64-bit forms)
    for (let r = 0; r < 8; r++) {
      const at = ST0 + 16 * r;
      for (let b = 0; b < 16; b++) l[at + b] = b < 10 ? area[base + at + b]! : 0;
    }
  } else if (i === 1) {
    cpu.legacy.set(area.subarray(base + XMM_RANGE[0], base + XMM_RANGE[1]), XMM_RANGE[0]);
  } else {
    const img = cpu.ext[i]!;
    img.set(area.subarray(base + offset, base + offset + img.length));
  }
}
