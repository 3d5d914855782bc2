// Benchmark: XSAVES + XRSTORS round trips per second of a full Sapphire Rapids state
// (XCR0 = 0x602e7, IA32_XSS = 0xdd00, every component out of its init state, 11520-byte compacted
// area). Two areas alternate so that no XSAVES follows an XRSTORS of the same area: the modified
// optimization would otherwise skip every component and measure nothing (SDM Vol1 13.11).
// Prints the median of several runs; not a test, and asserts nothing about speed.
import {
  type CpuState, MSR_IA32_XSS, compactedSize, createCpu, createMemory, cpuModel, fld, kmovq, ldtilecfg, mapRegion,
  movdqa, noteWrite, tileloadd, vmovdqa64Zmm, vmovdqaYmm, wrmsr, wrpkru, xrstors, xsaves, xsetbv,
} from '../src/model';
import { writeFileSync, mkdirSync } from 'node:fs';

function check(o: { kind: string }, what: string): void {
  if (o.kind !== 'ok') throw new Error(`${what}: ${JSON.stringify(o, (_k, v) => (typeof v === 'bigint' ? v.toString(16) : v))}`);
}

function fullState(): { cpu: CpuState; size: number } {
  const cpu = createCpu('sapphire-rapids', { osxsave: true });
  cpu.cr4.pke = true;
  check(xsetbv(cpu, 0, 0x602e7n), 'xsetbv');
  check(wrmsr(cpu, MSR_IA32_XSS, 0xdd00n), 'wrmsr xss');
  const mem = createMemory();
  const cfg = mapRegion(mem, 0x1000n, 64, 'tilecfg');
  cfg.bytes[0] = 1;
  for (let t = 0; t < 8; t++) { cfg.bytes[16 + 2 * t] = 64; cfg.bytes[48 + t] = 16; }
  const src = mapRegion(mem, 0x2000n, 1024, 'tile source');
  src.bytes.forEach((_, i) => (src.bytes[i] = (i * 7 + 1) & 0xff));
  check(ldtilecfg(cpu, mem, 0x1000n), 'ldtilecfg');
  for (let t = 0; t < 8; t++) check(tileloadd(cpu, mem, t, 0x2000n, 64n), 'tileloadd');
  check(fld(cpu, 0x3fff8000000000000000n), 'fld');
  for (let n = 0; n < 16; n++) check(movdqa(cpu, n, BigInt(n + 1) * 0x0101010101010101n), 'movdqa');
  for (let n = 0; n < 16; n++) check(vmovdqaYmm(cpu, n, (BigInt(n + 1) << 200n) | BigInt(n + 1)), 'vmovdqa');
  for (let n = 0; n < 32; n++) check(vmovdqa64Zmm(cpu, n, (BigInt(n + 1) << 400n) | (BigInt(n + 1) << 200n) | BigInt(n + 1)), 'vmovdqa64');
  for (let k = 0; k < 8; k++) check(kmovq(cpu, k, 0x8000000000000001n | BigInt(k)), 'kmovq');
  check(wrpkru(cpu, 0x55555554), 'wrpkru');
  for (const i of [8, 10, 11, 12, 14, 15]) { cpu.ext[i]!.fill(0xa5); noteWrite(cpu, i); }
  const size = compactedSize(cpuModel('sapphire-rapids'), 0x602e7n | 0xdd00n);
  if (cpu.xinuse !== (0x602e7n | 0xdd00n)) throw new Error(`not every component is in use: XINUSE 0x${cpu.xinuse.toString(16)}`);
  return { cpu, size };
}

function run(cpu: CpuState, size: number, iterations: number): number {
  const mem = createMemory();
  const a = 0x100000n;
  const b = 0x200000n;
  mapRegion(mem, a, size, 'A');
  mapRegion(mem, b, size, 'B');
  check(xsaves(cpu, mem, b, ~0n & 0xffffffffffffffffn), 'xsaves');
  const all = 0xffffffffffffffffn;
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < iterations; i += 2) {
    xsaves(cpu, mem, a, all);
    xrstors(cpu, mem, b, all);
    xsaves(cpu, mem, b, all);
    xrstors(cpu, mem, a, all);
  }
  const ns = Number(process.hrtime.bigint() - t0);
  return iterations / (ns / 1e9);
}

const { cpu, size } = fullState();
run(cpu, size, 20000); // warm-up
const RUNS = 7;
const ITER = 100000;
const rates: number[] = [];
for (let r = 0; r < RUNS; r++) rates.push(run(cpu, size, ITER));
rates.sort((x, y) => x - y);
const median = rates[Math.floor(RUNS / 2)]!;
const result = {
  bench: 'xsaves+xrstors round trip, full SPR state',
  node: process.version,
  areaBytes: size,
  runs: RUNS,
  iterationsPerRun: ITER,
  medianRoundTripsPerSecond: Math.round(median),
  minRoundTripsPerSecond: Math.round(rates[0]!),
  maxRoundTripsPerSecond: Math.round(rates[RUNS - 1]!),
  target: 200000,
};
console.log(`xsaves+xrstors round trip, full SPR state (${size}-byte area), Node ${process.version}`);
console.log(`  median ${result.medianRoundTripsPerSecond.toLocaleString('en')} round trips/s over ${RUNS} runs of ${ITER.toLocaleString('en')}` +
  ` (min ${result.minRoundTripsPerSecond.toLocaleString('en')}, max ${result.maxRoundTripsPerSecond.toLocaleString('en')}); target 200,000`);
mkdirSync('.bench', { recursive: true });
writeFileSync('.bench/xsave-roundtrip.json', JSON.stringify(result, null, 2) + '\n');
