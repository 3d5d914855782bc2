// Every rule the spec marks UNCERTAIN (spec/hardware.md §9) that no recorded silicon has decided is
// decided here, in one place, with the reason for the choice. Code that depends on a choice reads
// the constant, so changing the model's mind is a one-line edit and a search for the name finds
// every use. README.md's "Fidelity" section lists the same choices for users. The choices a real
// AMX CPU has since settled are listed in SETTLED_BY_SILICON below with the silicon.md row that
// settled them; the code follows silicon there and reads no flag.

export const UNCERTAIN = {
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
   * spec §2.1, §9.9 — XSETBV changes only XCR0: it neither initializes components whose bits it
   * clears nor changes XINUSE.
   */
  xsetbvKeepsState: true,

  /**
   * Model scope — an XSAVE* or XRSTOR* whose area is not wholly mapped faults with #PF before
   * writing or loading anything (hardware may have stored part of the area first).
   */
  memoryFaultBeforeAnyAccess: true,

  /**
   * silicon.md R7 observed XSAVEOPT: right after an XRSTOR of the same area it still stores an
   * in-use TILECFG. XSAVES (CPL 0 only, so the user-mode probe cannot run it) is assumed to use the
   * same modified-state tracker and store it too.
   */
  xsavesSharesXsaveoptTracking: true,
} as const;

export type UncertainChoice = keyof typeof UNCERTAIN;

/**
 * Choices the spec left open (or the model had made) that a real AMX CPU has settled, with the row
 * of spec/silicon.md that records the evidence. Kept for the README's Fidelity table and for
 * readers who remember the old flag names; the code follows silicon and reads none of these.
 */
export const SETTLED_BY_SILICON: Readonly<Record<string, { readonly row: string; readonly rule: string; readonly was: string }>> = {
  xinuseByWrite: {
    row: 'R1, R1b, R6',
    rule: 'XINUSE[i] is set by a write to component i, zeros included (FNINIT, LDMXCSR and TILEZERO too); cleared only by XRSTOR(S) initialization, VZEROUPPER/VZEROALL (AVX, ZMM_Hi256), TILERELEASE, LDTILECFG (TILEDATA) and palette-0 loads',
    was: 'xinuseByValueOnWrite: a component written back to all zeros read as not in use',
  },
  xrstorTilecfgPalette0: {
    row: 'R2, R3',
    rule: 'XRSTOR(S) of a TILECFG image with palette 0, or one LDTILECFG would refuse, initializes TILECFG without a fault; TILEDATA is still loaded from the image when XSTATE_BV[18] = 1',
    was: 'xrstorInvalidTilecfgInitializes: TILEDATA was initialized as well; palette 0 was loaded as an image',
  },
  compactedXstateBv63: {
    row: 'R4',
    rule: 'the compacted form with XSTATE_BV[63] = 1 raises #GP',
    was: 'compactedXstateBv63Passes',
  },
  xrstorXfdLoadFaults: {
    row: 'R5 and "agreements"',
    rule: 'XRSTOR that would load an XFD-disabled component raises #NM (initializing it does not), after the header #GPs and before the MXCSR #GP',
    was: 'xrstorXfdLoadFaults, with the MXCSR #GP first',
  },
  xgetbv1Mxcsr: {
    row: 'R6',
    rule: 'XGETBV(1)[1] reads 1 while MXCSR differs from 1F80H, though XSAVE and XSAVEOPT then store XSTATE_BV[1] = 0',
    was: 'XGETBV(1) = XCR0 AND XINUSE only',
  },
  xsaveoptTilecfg: {
    row: 'R7',
    rule: "XSAVEOPT's modified optimization never skips an in-use TILECFG",
    was: 'TILECFG skipped when unmodified',
  },
  tileUdBeforeXfdNm: {
    row: 'R8',
    rule: 'tile instructions raise the #UD of an unconfigured or invalid tile before the XFD #NM',
    was: 'XFD #NM first',
  },
  fcwReservedBits: {
    row: 'R9',
    rule: 'FCW bit 6 reads 1 and bits 7, 13-15 read 0 whatever XRSTOR or FLDCW loads',
    was: 'the loaded value kept',
  },
  compactedMxcsrGpAfterLoads: {
    row: 'R10',
    rule: "the compacted form's MXCSR #GP comes after the other components are loaded or initialized; the standard form's leaves the state untouched",
    was: 'no state change before any fault',
  },
  fldRecordsFip: {
    row: 'R11',
    rule: "FLD records FIP = the instruction's address; FOP and FDP are left (updated only on unmasked x87 exceptions)",
    was: 'FIP, FOP and FDP kept at 0',
  },
};
