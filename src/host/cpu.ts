// The `host` CPU model: this machine's CPUID, read through Linux's cpuid driver (/dev/cpu/0/cpuid),
// turned into a model by the pure model layer (src/model/cpuid.ts) and registered under the name
// 'host', for the CLI and the debug adapter. Reading is host I/O, so it lives here and not in the
// model; the leaves themselves are plain data, which is how an explorer worker gets the model
// (WorkerInput.hostCpuid) without reading the device again.
import { closeSync, openSync, readSync } from 'node:fs';
import type { Program } from '../lang/code';
import type { Diagnostic } from '../lang/source';
import {
  type CpuModel, type CpuidLeaf, type CpuidLeaves, HOST_CPU_MODEL, ModelArgumentError, cpuModelFromCpuid, leafName,
  registerCpuModel, registeredCpuModel, wantedCpuidLeaves,
} from '../model';

/** The device read by default; the environment variable names another (a test, another CPU). */
export const DEFAULT_CPUID_DEVICE = '/dev/cpu/0/cpuid';
export const CPUID_DEVICE_ENV = 'XSAVE_SIM_CPUID_DEVICE';

export function cpuidDevice(): string {
  return process.env[CPUID_DEVICE_ENV] || DEFAULT_CPUID_DEVICE;
}

/** This machine's CPUID cannot be read, or does not describe a CPU the simulator can model. */
export class HostCpuError extends Error {
  override name = 'HostCpuError';
}

function openProblem(device: string, e: NodeJS.ErrnoException): string {
  const what = `cannot read this machine's CPUID: `;
  switch (e.code) {
    case 'ENOENT':
    case 'ENXIO':
    case 'ENODEV':
      return `${what}${device} does not exist; load Linux's cpuid driver (sudo modprobe cpuid) and try again`;
    case 'EACCES':
    case 'EPERM':
      return `${what}permission denied on ${device}; it needs root, or read permission on /dev/cpu/*/cpuid (for example sudo chmod a+r /dev/cpu/*/cpuid)`;
    default:
      return `${what}${device}: ${e.code ?? ''}${e.code ? ' ' : ''}${e.message}`;
  }
}

/**
 * Reads the leaves the host model needs (wantedCpuidLeaves) from the cpuid driver: 16 bytes at file
 * position (subleaf << 32) | leaf are EAX, EBX, ECX, EDX, little-endian. Basic leaves above
 * CPUID.0.EAX and extended leaves above CPUID.80000000H.EAX are not kept: an Intel CPU answers them
 * with the highest basic leaf's data, which would read as features.
 */
export function readCpuid(device = cpuidDevice()): CpuidLeaves {
  if (process.platform !== 'linux') {
    throw new HostCpuError(`cannot read this machine's CPUID: the host model reads Linux's cpuid driver (${device}), and this is ${process.platform}`);
  }
  let fd: number;
  try {
    fd = openSync(device, 'r');
  } catch (e) {
    throw new HostCpuError(openProblem(device, e as NodeJS.ErrnoException));
  }
  try {
    const buf = new Uint8Array(16);
    const view = new DataView(buf.buffer);
    const read = (leaf: number, subleaf: number): CpuidLeaf => {
      let n: number;
      try {
        n = readSync(fd, buf, 0, 16, (BigInt(subleaf) << 32n) | BigInt(leaf));
      } catch (e) {
        throw new HostCpuError(`cannot read this machine's CPUID: ${leafName(leaf, subleaf)} from ${device}: ${(e as Error).message}`);
      }
      if (n !== 16) throw new HostCpuError(`cannot read this machine's CPUID: ${leafName(leaf, subleaf)} from ${device}: ${n} bytes instead of 16 (is it the cpuid driver?)`);
      return { leaf, subleaf, eax: view.getUint32(0, true), ebx: view.getUint32(4, true), ecx: view.getUint32(8, true), edx: view.getUint32(12, true) };
    };
    const maxBasic = read(0, 0).eax;
    const maxExtended = read(0x80000000, 0).eax;
    const out: CpuidLeaf[] = [];
    for (const { leaf, subleaf } of wantedCpuidLeaves()) {
      if (leaf < 0x80000000 ? leaf > maxBasic : leaf > maxExtended) continue;
      out.push(read(leaf, subleaf));
    }
    return out;
  } finally {
    closeSync(fd);
  }
}

/** Builds the host model from leaves and registers it as 'host' (an explorer worker, a test). */
export function registerHostCpuid(leaves: CpuidLeaves): CpuModel {
  const model = cpuModelFromCpuid(leaves, HOST_CPU_MODEL);
  registerCpuModel(model);
  return model;
}

/**
 * The host model, read and registered on first use; later calls return it without reading again.
 * Throws HostCpuError with a message for a person: the device is missing or unreadable, or its
 * leaves contradict each other (the model layer's message, which names the leaf).
 */
export function hostCpuModel(): CpuModel {
  const known = registeredCpuModel(HOST_CPU_MODEL);
  if (known) return known;
  const device = cpuidDevice();
  const leaves = readCpuid(device);
  try {
    return registerHostCpuid(leaves);
  } catch (e) {
    if (e instanceof ModelArgumentError) throw new HostCpuError(`this machine's CPUID (${device}) cannot be modelled: ${e.message}`);
    throw e;
  }
}

/** hostCpuModel(), with its failure as a message instead of an exception; null when it worked. */
export function hostCpuProblem(): string | null {
  try {
    hostCpuModel();
    return null;
  } catch (e) {
    if (e instanceof HostCpuError) return e.message;
    throw e;
  }
}

/**
 * For a program whose `cpu` line says "host" (and no override, which the caller checks with
 * hostCpuProblem): reads the host model so the engine's lookups find it, or a diagnostic at the
 * "host" string when it cannot be read. Null for any other model.
 */
export function hostCpuDiagnostic(program: Pick<Program, 'cpuModel' | 'cpuAt'>): Diagnostic | null {
  if (program.cpuModel !== HOST_CPU_MODEL || !program.cpuAt) return null;
  const problem = hostCpuProblem();
  return problem === null ? null : { file: program.cpuAt.file, range: program.cpuAt.range, severity: 'error', message: problem };
}
