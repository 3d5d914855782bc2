// Every rule the spec marks UNCERTAIN (spec/hardware.md §9) is decided here, in one place, with
// the reason for the choice. Code that depends on a choice reads the constant, so changing the
// model's mind is a one-line edit and a search for the name finds every use. README.md's
// "Fidelity" section lists the same choices for users.

export const UNCERTAIN = {
  /**
   * spec §5.5, §9.1 — XRSTOR/XRSTORS that would LOAD (not initialize) a component with
   * XCR0[i] = IA32_XFD[i] = 1 raise #NM and load IA32_XFD_ERR with the components that would have
   * been loaded; initializing such a component does not fault. The check comes after the header
   * and MXCSR #GP checks, and no state changes on the fault. Evidence: kernel WARNs from
   * restore_fpregs_from_fpstate and the 2026 KVM fix [S15]; the SDM sentence was not read.
   */
  xrstorXfdLoadFaults: true,

  /**
   * spec §5.6, §9.2 — XGETBV(ECX=1) returns XCR0 AND XINUSE even for XFD-armed components: the
   * XGETBV page defines no XFD exception, and XFD does not change XINUSE (spec §5.4). Set to true
   * to report XFD-armed components as not in use, as the save instructions treat them.
   */
  xgetbv1MasksXfdArmed: false,

  /**
   * spec §5.3, §9.3 — CR0.TS is checked before XFD: an instruction facing both raises the CR0.TS
   * #NM and leaves IA32_XFD_ERR alone (KVM assumes the same [S17]).
   */
  cr0TsBeforeXfd: true,

  /**
   * spec §6.5, §9.4 — AMX instructions do not check CR0.TS (Bochs's BxNoAMX has no such check, while
   * its AVX checks do [S6]).
   */
  amxChecksCr0Ts: false,

  /**
   * spec §6.6, §9.7 — XRSTOR(S) loading a TILECFG image LDTILECFG would reject does not fault: it
   * puts TILECFG and TILEDATA into their initial configuration (palette 0 is "the INIT state for
   * both", SDM LDTILECFG page; Bochs does the same [S6]).
   */
  xrstorInvalidTilecfgInitializes: true,

  /**
   * spec §2.1, §9.10 — XSETBV in VMX non-root operation at CPL > 0 raises #GP in the guest rather
   * than exiting: faults based on privilege level have priority over VM exits (SDM Vol3 25.1.1).
   */
  xsetbvCplBeforeVmExit: true,

  /**
   * spec §5.1, §9.11 — IA32_XFD and IA32_XFD_ERR are 0 after reset.
   */
  xfdResetZero: true,

  /**
   * spec §3.2, §9.12 — XMODIFIED and XRSTOR_INFO change only as the XRSTOR/XRSTORS pseudocode and
   * instruction writes say; VM entry and VM exit do not invalidate them (VMXNR in XRSTOR_INFO
   * already keeps a guest's XRSTOR from matching a host's XSAVEOPT/XSAVES).
   */
  vmTransitionsKeepXrstorInfo: true,

  /**
   * spec §4.2 — in the compacted form XSTATE_BV[63] = 1 passes the "XSTATE_BV bit not in XCOMP_BV"
   * check because XCOMP_BV[63] = 1 (Bochs computes XSTATE_BV & ~XCOMP_BV [S6]); it is then ignored.
   */
  compactedXstateBv63Passes: true,

  /**
   * spec §7.2 — a VM-entry MSR-load entry WRMSR would refuse fails the entry (exit reason 34 with
   * bit 31, qualification = the entry's 1-based number); entries before it stay loaded; host state
   * and the VM-exit MSR-load list are then loaded as for a VM exit (SDM Vol3 27.8).
   */
  vmEntryMsrLoadFailKeepsEarlierEntries: true,

  /**
   * spec §3.3 — XSAVES/XRSTORS in VMX non-root: #UD, then #NM(CR0.TS), then #GP(CPL), then the
   * XSS-exiting VM exit, then the alignment #GP (privilege faults beat VM exits, SDM Vol3 25.1.1;
   * the decode-class #NM beats #GP, SDM Vol3A Table 6-2).
   */
  xsavesExitAfterTsAndCpl: true,

  /**
   * spec §3.1, §3.4 — XINUSE tracking: an instruction's write sets XINUSE[i] to "component i is not
   * in its initial configuration" (by value, as Bochs); XRSTOR(S) follows its pseudocode
   * (XINUSE[i] := 1 on load even of init values, 0 on init). Both are allowed by SDM Vol1 13.6.
   */
  xinuseByValueOnWrite: true,

  /**
   * spec §2.1, §9.9 — XSETBV changes only XCR0: it neither initializes components whose bits it
   * clears nor changes XINUSE.
   */
  xsetbvKeepsState: true,

  /**
   * Model scope — an XSAVE* or XRSTOR* whose area is not wholly mapped faults with #PF before
   * writing or loading anything (hardware may have stored part of the area first).
   */
  memoryFaultBeforeAnyAccess: true,
} as const;

export type UncertainChoice = keyof typeof UNCERTAIN;
