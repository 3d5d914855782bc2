// The legacy region (bytes 0..511) as FXSAVE64/XSAVE64 lay it out, and which of its bytes belong
// to the x87 component and which to SSE (SDM Vol1 13.4.1 and Table 13-1; spec §1.3). The model is
// 64-bit mode with REX.W=1 forms (XSAVE64, XRSTOR64, ...), which the Linux kernel uses: FIP and FDP
// are full 64-bit fields and there are no FCS/FDS selectors.

export const FCW = 0; // u16
export const FSW = 2; // u16
/** Abridged tag: bit j = 1 when physical register Rj is not empty (SDM Vol1 10.5.1.1, physical order). */
export const FTW = 4; // u8
export const FOP = 6; // u16, low 11 bits
export const FIP = 8; // u64
export const FDP = 16; // u64
export const MXCSR = 24; // u32
export const MXCSR_MASK = 28; // u32
/** ST0/MM0 .. ST7/MM7, 16 bytes apart, in stack order (ST(i), not Ri); 10 bytes used each. */
export const ST0 = 32;
export const XMM0 = 160;
export const XMM_COUNT = 16;

/** x87 = bytes 23:0 and 159:32; SSE = bytes 31:24 (MXCSR, MXCSR_MASK) and 415:160 (SDM Vol1 13.4.1). */
export const X87_RANGES: ReadonlyArray<readonly [number, number]> = [[0, 24], [32, 160]];
export const XMM_RANGE: readonly [number, number] = [160, 416];

/** MXCSR at reset and in the init configuration used by XRSTOR's compacted form (SDM Vol1 13.8.2). */
export const MXCSR_DEFAULT = 0x1f80;
/** FCW in the x87 initial configuration, as FNINIT leaves it (SDM Vol1 13.6). */
export const FCW_DEFAULT = 0x037f;
export const LEGACY_REGION_BYTES = 512;

/**
 * FCW as the x87 unit holds it: bits 6 (reserved, reads 1) and 7, 13-15 (reserved, read 0) are not
 * stored, so XRSTOR or FLDCW of 0000H reads back 0040H and FFFFH reads back 1F7FH (silicon.md R9;
 * SDM Vol1 8.1.5 Figure 8-6 shows them reserved).
 */
export function fcwAsStored(fcw: number): number {
  return (fcw & 0x1f3f) | 0x0040;
}
