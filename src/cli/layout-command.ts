// `xsave-sim layout [--cpu NAME] [--xcr0 MASK] [--xss MASK]`: CPUID leaf 0DH of a CPU model and
// the standard and compacted XSAVE layouts for a feature set, as text a person compares with
// `cpuid -l 0xd` output and the kernel's "x86/fpu: xstate_offset[...]" boot messages.
import {
  type CpuModel, type CpuidRegs, CPUID_D1_EAX_XFD, CPUID_D1_EAX_XGETBV1, CPUID_D1_EAX_XSAVEC, CPUID_D1_EAX_XSAVEOPT,
  CPUID_D1_EAX_XSAVES, DEFAULT_CPU_MODEL, HOST_CPU_MODEL, cpuModelNames, isCpuModelName, leafName, XCOMP_BV_COMPACTED, bitsOf, compactedLayout, compactedSize,
  cpuModel, cpuidLeafD, formatMask, standardLayout, standardSize, xcr0Problem, xfdSupported, xfeatureName,
} from '../model';
import { UsageError, parseArgs, parseMask } from './args';
import { hostCpuProblem } from '../host/cpu';

export const LAYOUT_USAGE = `usage: xsave-sim layout [--cpu NAME] [--xcr0 MASK] [--xss MASK]
  --cpu   CPU model: ${cpuModelNames().join(', ')} (default ${DEFAULT_CPU_MODEL});
          host is this machine's CPUID (Linux, /dev/cpu/0/cpuid)
  --xcr0  XCR0 value (default: every user component the CPU supports)
  --xss   IA32_XSS value (default 0, as Linux boots without supervisor states it does not manage)`;

const h32 = (n: number) => '0x' + (n >>> 0).toString(16).padStart(8, '0');
const pad = (s: string | number, n: number) => String(s).padEnd(n);
const lpad = (s: string | number, n: number) => String(s).padStart(n);

function d1EaxNames(eax: number): string {
  const names: Array<[number, string]> = [
    [CPUID_D1_EAX_XSAVEOPT, 'XSAVEOPT'], [CPUID_D1_EAX_XSAVEC, 'XSAVEC'], [CPUID_D1_EAX_XGETBV1, 'XGETBV1'],
    [CPUID_D1_EAX_XSAVES, 'XSAVES'], [CPUID_D1_EAX_XFD, 'XFD'],
  ];
  return names.filter(([b]) => eax & b).map(([, n]) => n).join(' ') || '-';
}

function ecxFlags(ecx: number): string {
  const f = [ecx & 1 ? 'supervisor' : 'user', ecx & 2 ? 'align64' : '', ecx & 4 ? 'XFD' : ''].filter(Boolean);
  return f.join(' ');
}

export function layoutReport(model: CpuModel, xcr0: bigint, xss: bigint): string {
  const out: string[] = [];
  out.push(`CPU ${model.name}: ${model.description}`);
  out.push(`XCR0      ${formatMask(xcr0)}`);
  out.push(`IA32_XSS  ${formatMask(xss)}`);
  out.push(`IA32_XFD may hold ${formatMask(xfdSupported(model))}`);
  out.push('');
  out.push('CPUID leaf 0DH');
  out.push(`  ${pad('ECX', 6)}${pad('EAX', 12)}${pad('EBX', 12)}${pad('ECX', 12)}${pad('EDX', 12)}meaning`);
  const row = (sub: number, r: CpuidRegs, meaning: string) =>
    out.push(`  ${pad('0x' + sub.toString(16).padStart(2, '0'), 6)}${pad(h32(r.eax), 12)}${pad(h32(r.ebx), 12)}${pad(h32(r.ecx), 12)}${pad(h32(r.edx), 12)}${meaning}`);
  const d0 = cpuidLeafD(model, xcr0, xss, 0);
  row(0, d0, `XCR0 may hold ${formatMask(model.xcr0Supported)}; XSAVE size for XCR0 ${d0.ebx}, for all ${d0.ecx}`);
  const d1 = cpuidLeafD(model, xcr0, xss, 1);
  const xsaves = (d1.eax & CPUID_D1_EAX_XSAVES) !== 0;
  row(1, d1, `${d1EaxNames(d1.eax)}; ` + (xsaves
    ? `XSAVES size for XCR0|XSS ${d1.ebx}; IA32_XSS may hold ${formatMask(model.xssSupported)}`
    : 'no XSAVES, no IA32_XSS'));
  for (const i of bitsOf(model.xcr0Supported | model.xssSupported)) {
    if (i < 2) continue;
    const r = cpuidLeafD(model, xcr0, xss, i);
    row(i, r, `${xfeatureName(i)}: ${r.eax} bytes${r.ecx & 1 ? '' : ` at ${r.ebx}`}, ${ecxFlags(r.ecx)}`);
  }

  const user = xcr0;
  out.push('');
  out.push(`Standard format (XSAVE, XSAVEOPT, XRSTOR) for XCR0 ${formatMask(user)}: ${standardSize(model, user)} bytes`);
  out.push(`  ${pad('component', 12)}${lpad('offset', 7)}${lpad('size', 7)}  bytes`);
  const legacyBytes: Record<number, string> = { 0: '0-23, 32-159', 1: '24-31 (MXCSR), 160-415' };
  const std = standardLayout(model, user);
  for (const e of std.filter((e) => e.index < 2)) {
    out.push(`  ${pad(e.name, 12)}${lpad(e.offset, 7)}${lpad(e.size, 7)}  ${legacyBytes[e.index]}`);
  }
  out.push(`  ${pad('header', 12)}${lpad(512, 7)}${lpad(64, 7)}  512-519 XSTATE_BV, 520-527 XCOMP_BV`);
  for (const e of std.filter((e) => e.index >= 2)) {
    out.push(`  ${pad(e.name, 12)}${lpad(e.offset, 7)}${lpad(e.size, 7)}  ${e.offset}-${e.offset + e.size - 1}`);
  }

  const format = xcr0 | xss;
  out.push('');
  if (!(model.d1Eax & CPUID_D1_EAX_XSAVEC)) {
    out.push(`Compacted format: not supported on ${model.name} (CPUID.(EAX=0DH,ECX=1).EAX[1] = 0: no XSAVEC, no XSAVES)`);
    return out.join('\n') + '\n' + cpuidSection(model);
  }
  out.push(`Compacted format (XSAVEC, XSAVES, XRSTORS) for XCR0|XSS ${formatMask(format)}: ${compactedSize(model, format)} bytes, XCOMP_BV ${formatMask(format | XCOMP_BV_COMPACTED)}`);
  out.push(`  ${pad('component', 12)}${lpad('offset', 7)}${lpad('size', 7)}  align`);
  out.push(`  ${pad('legacy', 12)}${lpad(0, 7)}${lpad(512, 7)}  x87 and SSE as in the standard format`);
  out.push(`  ${pad('header', 12)}${lpad(512, 7)}${lpad(64, 7)}`);
  for (const e of compactedLayout(model, format).filter((e) => e.index >= 2)) {
    out.push(`  ${pad(e.name, 12)}${lpad(e.offset, 7)}${lpad(e.size, 7)}  ${e.align64 ? '64' : '-'}${e.supervisor ? '  supervisor' : ''}`);
  }
  return out.join('\n') + '\n' + cpuidSection(model);
}

/**
 * The leaves a model read from a machine was built from, as read (the host model). The 0DH table
 * above is computed from the model for the XCR0 and XSS asked for; this is the machine's own
 * answer, whose (0DH,0).EBX and (0DH,1).EBX follow the XCR0 and XSS its kernel set.
 */
function cpuidSection(model: CpuModel): string {
  if (!model.cpuid) return '';
  const shown = model.cpuid.filter((l) => l.eax || l.ebx || l.ecx || l.edx);
  const out = ['', `CPUID as read from this machine (${model.cpuid.length} leaves read; the ${model.cpuid.length - shown.length} all-zero ones left out)`];
  out.push(`  ${pad('leaf', 26)}${pad('EAX', 12)}${pad('EBX', 12)}${pad('ECX', 12)}EDX`);
  for (const l of shown) {
    out.push(`  ${pad(leafName(l.leaf, l.subleaf).replace(/^CPUID\./, ''), 26)}${pad(h32(l.eax), 12)}${pad(h32(l.ebx), 12)}${pad(h32(l.ecx), 12)}${h32(l.edx)}`);
  }
  return out.join('\n') + '\n';
}

export function layoutCommand(argv: string[]): string {
  const args = parseArgs(argv, ['cpu', 'xcr0', 'xss'], []);
  if (args.positional.length) throw new UsageError(`layout takes no file argument (got '${args.positional[0]}')`);
  const cpuName = args.options.get('cpu') ?? DEFAULT_CPU_MODEL;
  if (!isCpuModelName(cpuName)) throw new UsageError(`--cpu: unknown CPU model '${cpuName}' (known: ${cpuModelNames().join(', ')})`);
  if (cpuName === HOST_CPU_MODEL) {
    const problem = hostCpuProblem();
    if (problem !== null) throw new UsageError(`--cpu host: ${problem}`);
  }
  const model = cpuModel(cpuName);
  const xcr0 = args.options.has('xcr0') ? parseMask('xcr0', args.options.get('xcr0')!) : model.xcr0Supported;
  const problem = xcr0Problem(model.xcr0Supported, xcr0);
  if (problem) throw new UsageError(`--xcr0 ${formatMask(xcr0)}: XSETBV would raise #GP on ${model.name}: it ${problem}`);
  const xss = args.options.has('xss') ? parseMask('xss', args.options.get('xss')!) : 0n;
  const badXss = xss & ~model.xssSupported;
  if (badXss) throw new UsageError(`--xss ${formatMask(xss)}: ${model.name} does not support ${formatMask(badXss)} in IA32_XSS (it may hold ${formatMask(model.xssSupported)})`);
  return layoutReport(model, xcr0, xss);
}
