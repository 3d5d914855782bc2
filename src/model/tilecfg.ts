// The 64-byte tile configuration (TILECFG, state component 17), in the format LDTILECFG reads,
// STTILECFG writes and XSAVE stores (SDM Vol2 LDTILECFG, Table 3-10; spec §6.2):
// byte 0 palette_id, byte 1 start_row, bytes 16..31 colsb[0..7] (u16), bytes 48..55 rows[0..7];
// all other bytes reserved and zero. TILES_CONFIGURED is palette_id != 0.
import { allZero, readU16 } from './bits';
import type { AmxPalette1 } from './cpu-model';

export const TILECFG_SIZE = 64;
export const PALETTE_ID = 0;
export const START_ROW = 1;
export const COLSB0 = 16;
export const ROWS0 = 48;

export interface TileConfig {
  paletteId: number;
  startRow: number;
  colsb: number[];
  rows: number[];
}

export function decodeTilecfg(b: Uint8Array, off = 0): TileConfig {
  const colsb: number[] = [];
  const rows: number[] = [];
  for (let n = 0; n < 8; n++) {
    colsb.push(readU16(b, off + COLSB0 + 2 * n));
    rows.push(b[off + ROWS0 + n]!);
  }
  return { paletteId: b[off + PALETTE_ID]!, startRow: b[off + START_ROW]!, colsb, rows };
}

/**
 * Why LDTILECFG would refuse this image with #GP(0), or null (SDM Vol2 LDTILECFG pseudocode;
 * spec §6.3). Palette 0 is accepted without looking at the other 63 bytes.
 */
export function tilecfgProblem(b: Uint8Array, off: number, palette: AmxPalette1): string | null {
  const pid = b[off + PALETTE_ID]!;
  if (pid > 1) return `palette_id ${pid} exceeds max_palette 1`;
  if (pid === 0) return null;
  if (!allZero(b, off + 2, off + 16)) return 'reserved bytes 2..15 are not zero';
  if (!allZero(b, off + 32, off + 48)) return 'reserved bytes 32..47 are not zero';
  if (!allZero(b, off + 56, off + 64)) return 'reserved bytes 56..63 are not zero';
  for (let n = 0; n < 8; n++) {
    const colsb = readU16(b, off + COLSB0 + 2 * n);
    const rows = b[off + ROWS0 + n]!;
    if (colsb > palette.bytesPerRow) return `tile ${n}: colsb ${colsb} exceeds bytes_per_row ${palette.bytesPerRow}`;
    if (rows > palette.maxRows) return `tile ${n}: rows ${rows} exceeds max_rows ${palette.maxRows}`;
    if ((rows === 0) !== (colsb === 0)) return `tile ${n}: exactly one of rows (${rows}) and colsb (${colsb}) is zero`;
  }
  return null;
}

export function tilesConfigured(cfg: Uint8Array): boolean {
  return cfg[PALETTE_ID] !== 0;
}
