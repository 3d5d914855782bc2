// The silicon log: what `silicon/probe.c` observed on a real CPU, one JSON object per line
// (silicon/README.md). A header, then for every sequence several runs of the same operations, each
// operation with what was seen after it: XGETBV(0), XGETBV(1), the signal and si_code it raised, and
// for saves the area's hash (every run) and bytes (first run). This file turns lines into typed
// records; it checks every field it reads, so a damaged log is an error with its line number, never
// a replay of garbage.
import type { Mask } from '../model/bits';

export type SiliconMode = 'perm' | 'noperm' | 'noamx';

/** The operations the probe executes (silicon/README.md, "Operations"). */
export const SILICON_OPS = [
  'FLD', 'FNINIT', 'MOVDQA', 'VMOVX', 'VMOVY', 'VMOVZ', 'KMOV', 'VZEROUPPER', 'VZEROALL', 'LDMXCSR',
  'LDTILECFG', 'TILELOADD', 'TILEZERO', 'TILERELEASE', 'XSAVE', 'XSAVEC', 'XSAVEOPT', 'XRSTOR', 'POKE', 'FILL',
] as const;
export type SiliconOpName = (typeof SILICON_OPS)[number];

export interface SiliconHeader {
  readonly mode: SiliconMode;
  readonly seed: string;
  /** CPUID.(EAX=0DH,ECX=i) = [EAX, EBX, ECX, EDX] for i = 0.. as the probe read them. */
  readonly cpuid0d: ReadonlyArray<readonly [number, number, number, number]>;
  /** The 1,024 bytes TILELOADD reads (stride 64). */
  readonly tilesrc: Uint8Array;
  /** The linear address of the probe's FLD instruction, when the log records it (FIP after FLD). */
  readonly fldRip: bigint | null;
}

export interface SiliconOp {
  readonly i: number;
  readonly t: SiliconOpName;
  readonly reg: number;
  readonly area: number;
  readonly off: number;
  readonly len: number;
  readonly fill: number;
  readonly rfbm: Mask;
  readonly data: Uint8Array;
  /** XGETBV(0) and XGETBV(1) after the operation; x1 null where the CPU has no XGETBV(1). */
  readonly x0: Mask;
  readonly x1: Mask | null;
  /** Signal and si_code the operation raised; 0/0 for none. */
  readonly sig: number;
  readonly code: number;
  /** A saved area's hash (every run) and bytes (first run only). */
  readonly h: string | null;
  readonly snap: Uint8Array | null;
}

export interface SiliconRun {
  readonly seq: number;
  readonly name: string;
  readonly run: number;
  /** Context switches the probe counted during the run. */
  readonly csw: number;
  readonly ops: SiliconOp[];
}

export interface SiliconSequence {
  readonly seq: number;
  readonly name: string;
  readonly runs: SiliconRun[];
}

export interface SiliconLog {
  readonly header: SiliconHeader;
  readonly sequences: SiliconSequence[];
}

export class SiliconLogError extends Error {
  constructor(readonly line: number, message: string) {
    super(`line ${line}: ${message}`);
    this.name = 'SiliconLogError';
  }
}

type Json = Record<string, unknown>;

function field<T>(o: Json, name: string, line: number, check: (v: unknown) => v is T, what: string): T {
  const v = o[name];
  if (!check(v)) throw new SiliconLogError(line, `'${name}' is not ${what}: ${JSON.stringify(v)?.slice(0, 40)}`);
  return v;
}
const isInt = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v >= 0;
const isStr = (v: unknown): v is string => typeof v === 'string';
const isHex = (v: unknown): v is string => typeof v === 'string' && /^[0-9a-f]*$/i.test(v);

function hexMask(o: Json, name: string, line: number): Mask {
  const s = field(o, name, line, isHex, 'a hex string');
  if (s.length === 0 || s.length > 16) throw new SiliconLogError(line, `'${name}' is not a 64-bit hex value: "${s.slice(0, 40)}"`);
  return BigInt('0x' + s);
}

export function hexBytes(s: string, line: number, name: string, expect?: number): Uint8Array {
  if (s.length % 2 !== 0 || !/^[0-9a-f]*$/i.test(s)) throw new SiliconLogError(line, `'${name}' is not an even-length hex string`);
  const out = new Uint8Array(s.length / 2);
  for (let k = 0; k < out.length; k++) out[k] = parseInt(s.substr(2 * k, 2), 16);
  if (expect !== undefined && out.length !== expect) {
    throw new SiliconLogError(line, `'${name}' has ${out.length} bytes, expected ${expect}`);
  }
  return out;
}

function parseHeader(o: Json, line: number): SiliconHeader {
  const mode = field(o, 'mode', line, isStr, 'a string');
  if (mode !== 'perm' && mode !== 'noperm' && mode !== 'noamx') {
    throw new SiliconLogError(line, `unknown mode '${mode}' (perm, noperm or noamx)`);
  }
  const raw = o.cpuid_0d;
  if (!Array.isArray(raw) || raw.length < 2) throw new SiliconLogError(line, "'cpuid_0d' is not a list of sub-leaves");
  const cpuid0d = raw.map((r, i) => {
    if (!Array.isArray(r) || r.length !== 4 || !r.every((x) => isInt(x) && x <= 0xffffffff)) {
      throw new SiliconLogError(line, `cpuid_0d[${i}] is not [EAX, EBX, ECX, EDX]`);
    }
    return [r[0], r[1], r[2], r[3]] as const;
  });
  const tilesrc = hexBytes(field(o, 'tilesrc', line, isStr, 'a hex string'), line, 'tilesrc', 1024);
  const fldRip = o.fld_ip === undefined ? null : hexMask(o, 'fld_ip', line);
  return { mode, seed: String(o.seed ?? ''), cpuid0d, tilesrc, fldRip };
}

function parseOp(o: Json, line: number): SiliconOp {
  const t = field(o, 't', line, isStr, 'a string');
  if (!(SILICON_OPS as readonly string[]).includes(t)) throw new SiliconLogError(line, `unknown operation '${t}'`);
  const snapHex = o.snap;
  return {
    i: field(o, 'i', line, isInt, 'an index'),
    t: t as SiliconOpName,
    reg: field(o, 'reg', line, isInt, 'a register number'),
    area: field(o, 'area', line, isInt, 'an area number'),
    off: field(o, 'off', line, isInt, 'an offset'),
    len: field(o, 'len', line, isInt, 'a length'),
    fill: field(o, 'fill', line, isInt, 'a byte'),
    rfbm: hexMask(o, 'rfbm', line),
    data: hexBytes(field(o, 'data', line, isStr, 'a hex string'), line, 'data', 64),
    x0: hexMask(o, 'x0', line),
    x1: o.x1 === undefined ? null : hexMask(o, 'x1', line),
    sig: field(o, 'sig', line, isInt, 'a signal number'),
    code: field(o, 'code', line, isInt, 'an si_code'),
    h: typeof o.h === 'string' ? o.h : null,
    snap: typeof snapHex === 'string' ? hexBytes(snapHex, line, 'snap') : null,
  };
}

/** Parses a whole log. Lines are 1-based in errors; blank lines are skipped. */
export function parseSiliconLog(text: string): SiliconLog {
  let header: SiliconHeader | null = null;
  const sequences = new Map<number, SiliconSequence>();
  let current: SiliconRun | null = null;
  const lines = text.split('\n');
  for (let n = 0; n < lines.length; n++) {
    const line = n + 1;
    const s = lines[n]!.trim();
    if (!s) continue;
    let o: Json;
    try {
      const v: unknown = JSON.parse(s);
      if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Error('not an object');
      o = v as Json;
    } catch {
      throw new SiliconLogError(line, 'not a JSON object');
    }
    switch (o.k) {
      case 'hdr':
        if (header) throw new SiliconLogError(line, 'a second header');
        header = parseHeader(o, line);
        break;
      case 'run': {
        if (!header) throw new SiliconLogError(line, 'a run before the header');
        const seq = field(o, 'seq', line, isInt, 'a sequence number');
        const name = field(o, 'name', line, isStr, 'a string');
        current = { seq, name, run: field(o, 'run', line, isInt, 'a run number'), csw: field(o, 'csw', line, isInt, 'a count'), ops: [] };
        let sq = sequences.get(seq);
        if (!sq) sequences.set(seq, (sq = { seq, name, runs: [] }));
        sq.runs.push(current);
        break;
      }
      case 'op': {
        if (!current) throw new SiliconLogError(line, 'an operation before any run');
        const op = parseOp(o, line);
        if (o.seq !== current.seq || o.run !== current.run) throw new SiliconLogError(line, 'an operation of another run than the one open');
        if (op.i !== current.ops.length) throw new SiliconLogError(line, `operation ${op.i} out of order (expected ${current.ops.length})`);
        current.ops.push(op);
        break;
      }
      default:
        throw new SiliconLogError(line, `unknown record kind ${JSON.stringify(o.k)}`);
    }
  }
  if (!header) throw new SiliconLogError(1, 'no header');
  return { header, sequences: [...sequences.values()] };
}
