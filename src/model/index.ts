// The hardware model's public surface: what the simulator, the debugger and the CLI may use.
// Plain TypeScript with no dependencies; every function works on plain data (DESIGN §3, §4).
export * from './bits';
export * from './xfeatures';
export * from './cpu-model';
export * from './cpuid';
export * from './cpuid-insn';
export * from './layout';
export * from './legacy-region';
export * from './fault';
export * from './cpu-state';
export * from './component-state';
export * from './memory';
export * from './msr';
export * from './vmcs';
export * from './vmx';
export * from './xsetbv';
export * from './rdmsr-wrmsr';
export * from './xsave';
export * from './xrstor';
export * from './tilecfg';
export * from './amx';
export * from './registers';
export * from './io';
export * from './uncertain';
