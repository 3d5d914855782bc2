/*
 * xsave-debug silicon differential probe.
 *
 * Runs seeded random and targeted user-mode instruction sequences on the CPU it runs on and writes
 * every observable as JSON lines (format: silicon/README.md). The TypeScript replayer runs the same
 * sequences on src/model and compares.
 *
 * Build: cc -O1 -o probe silicon/probe.c        (gcc; with clang add -mgeneral-regs-only)
 * Run:   ./probe --mode perm|noperm|--no-amx --seed N --sequences N [--runs N] [--out FILE]
 *
 * What must hold while a sequence runs, and how this file makes it hold:
 *  - Nothing but the instruction under test may touch x87/SSE/AVX/AVX-512/AMX state. Every
 *    function here is compiled for general registers only (the target pragma below; the same as
 *    -mgeneral-regs-only), so the compiler never emits a vector or x87 instruction of its own.
 *    Between the first and the last operation of a run no libc function is called (glibc's
 *    memcpy/memset/strlen use AVX2/EVEX registers, and the first call through the PLT may go through
 *    ld.so's lazy-binding trampoline, which saves and restores vector state with XSAVEC/XRSTOR
 *    and so would disturb XINUSE and the XSAVEOPT tracking). Copies and fills in the window are
 *    `rep movsb` / `rep stosb`; results go to memory and are formatted after the run.
 *  - A faulting instruction is skipped the way the reference logs were recorded: each operation
 *    is one asm block that stores the address of its resume label before the instruction; the
 *    signal handler (SA_SIGINFO) writes that address into the saved RIP of the ucontext and
 *    returns normally, so the kernel's sigreturn restores the extended state from the signal
 *    frame (XRSTOR) exactly as it does for any program. No siglongjmp.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <ucontext.h>
#include <unistd.h>

#if defined(__GNUC__) && !defined(__clang__)
/* General registers only (no SSE/AVX/x87 code from the compiler), and no turning of byte loops
 * into calls to libc's vectorised memset/memcpy. */
#pragma GCC target("general-regs-only")
#pragma GCC optimize("no-tree-loop-distribute-patterns")
#endif

#define AREA_SIZE 12288
#define MAXOPS 96
#define NAREAS 3

#define ARCH_GET_XCOMP_SUPP 0x1021
#define ARCH_GET_XCOMP_PERM 0x1022
#define ARCH_REQ_XCOMP_PERM 0x1023
#define XFEATURE_XTILEDATA 18

/* ---------------------------------------------------------------------------------------------
 * Operations. The names are the log's `t` values.
 */
enum optype {
	OP_FLD, OP_FNINIT, OP_MOVDQA, OP_VMOVX, OP_VMOVY, OP_VMOVZ, OP_KMOV, OP_VZEROUPPER,
	OP_VZEROALL, OP_LDMXCSR, OP_LDTILECFG, OP_TILELOADD, OP_TILEZERO, OP_TILERELEASE,
	OP_XSAVE, OP_XSAVEC, OP_XSAVEOPT, OP_XRSTOR, OP_POKE, OP_FILL, OP_COUNT
};

static const char *const op_names[OP_COUNT] = {
	"FLD", "FNINIT", "MOVDQA", "VMOVX", "VMOVY", "VMOVZ", "KMOV", "VZEROUPPER",
	"VZEROALL", "LDMXCSR", "LDTILECFG", "TILELOADD", "TILEZERO", "TILERELEASE",
	"XSAVE", "XSAVEC", "XSAVEOPT", "XRSTOR", "POKE", "FILL",
};

struct op {
	uint8_t data[64];	/* register value, TILECFG image, or bytes to poke */
	uint64_t rfbm;		/* EDX:EAX of the XSAVE family */
	uint16_t off, len;	/* POKE */
	uint8_t t, reg, area, fill;
};

struct seq {
	char name[48];
	int n;
	struct op ops[MAXOPS];
};

struct result {
	uint64_t x0, x1;
	int sig, code;
};

static int is_save(int t) { return t == OP_XSAVE || t == OP_XSAVEC || t == OP_XSAVEOPT; }
static int is_tile(int t)
{
	return t == OP_LDTILECFG || t == OP_TILELOADD || t == OP_TILEZERO || t == OP_TILERELEASE;
}

/* ---------------------------------------------------------------------------------------------
 * Memory the instructions use. All of it static, so addresses (FDP, the XSAVEOPT tracking of
 * the last XRSTOR's linear address) are the same in every run of a process.
 */
static uint8_t g_area[NAREAS][AREA_SIZE] __attribute__((aligned(64)));
static uint8_t g_opdata[64] __attribute__((aligned(64)));	/* the operand of data ops */
static uint8_t g_tilesrc[1024] __attribute__((aligned(64)));	/* TILELOADD source, stride 64 */
static uint8_t g_snap[MAXOPS][AREA_SIZE] __attribute__((aligned(64)));
static struct result g_res[MAXOPS];

static volatile uintptr_t g_resume;	/* where the signal handler resumes; 0: not in an op */
static volatile int g_sig, g_code;
static volatile uintptr_t g_fld_ip;	/* address of the FLD instruction (FIP) */

/* CPU facts, read once. */
static uint32_t g_cpuid0d[20][4];
static uint64_t g_xcr0;
static int g_has_xgetbv1, g_has_avx, g_has_avx512, g_has_amx;
static unsigned g_std_off[64], g_cmp_off[64];	/* per component: standard, compacted (XCR0) */
static unsigned g_size_std;

/* Options. */
static int g_noamx;
static const char *g_mode = "noamx";

/* ---------------------------------------------------------------------------------------------
 * Copies, fills, XGETBV and CPUID usable inside the measured window (general registers and string
 * instructions only).
 */
static inline void copy_bytes(void *dst, const void *src, size_t n)
{
	__asm__ volatile("rep movsb" : "+D"(dst), "+S"(src), "+c"(n) : : "memory");
}

static inline void fill_bytes(void *dst, uint8_t v, size_t n)
{
	__asm__ volatile("rep stosb" : "+D"(dst), "+c"(n) : "a"(v) : "memory");
}

static inline uint64_t xgetbv(uint32_t idx)
{
	uint32_t lo, hi;
	__asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(idx));
	return ((uint64_t)hi << 32) | lo;
}

static inline void cpuid(uint32_t leaf, uint32_t sub, uint32_t r[4])
{
	__asm__ volatile("cpuid" : "=a"(r[0]), "=b"(r[1]), "=c"(r[2]), "=d"(r[3]) : "a"(leaf), "c"(sub));
}

/* ---------------------------------------------------------------------------------------------
 * The faulting-instruction protocol. RES_PRE stores the resume label's address; the handler
 * sets RIP to it. The label follows the instruction, so a fault skips exactly that instruction.
 */
#define RES_PRE "lea 1f(%%rip), %%r11\n\tmov %%r11, %[res]\n\t"
#define RES_POST "\n1:\n"
#define OP0(insn) \
	__asm__ volatile(RES_PRE insn RES_POST : [res] "=m"(g_resume) : : "r11", "memory")
#define OPM(insn, ptr) \
	__asm__ volatile(RES_PRE insn RES_POST : [res] "=m"(g_resume) : [p] "r"(ptr) : "r11", "memory")
#define OPA(insn, ptr) /* pointer in RAX: the AMX encodings below use (%rax) */ \
	__asm__ volatile(RES_PRE insn RES_POST : [res] "=m"(g_resume) : "a"(ptr) : "r11", "memory")
#define OPT(insn, ptr) /* TILELOADD (%rax,%rdx,1): stride 64 in RDX */ \
	__asm__ volatile(RES_PRE insn RES_POST : [res] "=m"(g_resume) : "a"(ptr), "d"(64UL) : "r11", "memory")
#define OPX(insn, ptr, lo, hi) /* XSAVE family: RFBM in EDX:EAX */ \
	__asm__ volatile(RES_PRE insn RES_POST : [res] "=m"(g_resume) : [p] "r"(ptr), "a"(lo), "d"(hi) : "r11", "memory")

/*
 * AMX instructions by their encodings (SDM Vol. 2, "Intel AMX Instruction Set Reference"), so that
 * the probe builds with assemblers that predate AMX. VEX.128.0F38.W0; pp = NP (78) or F2 (7b).
 *   LDTILECFG m512          VEX.128.NP.0F38.W0 49 /0         c4 e2 78 49 00      (%rax)
 *   TILERELEASE             VEX.128.NP.0F38.W0 49 C0         c4 e2 78 49 c0
 *   TILEZERO tmm            VEX.128.F2.0F38.W0 49 11:rrr:000 c4 e2 7b 49 c0|r<<3
 *   TILELOADD tmm, sibmem   VEX.128.F2.0F38.W0 4B !11:rrr:100 c4 e2 7b 4b 04|r<<3 10  (%rax,%rdx,1)
 */
#define LDTILECFG_RAX ".byte 0xc4,0xe2,0x78,0x49,0x00"
#define TILERELEASE_ ".byte 0xc4,0xe2,0x78,0x49,0xc0"
#define TILEZERO_(r) ".byte 0xc4,0xe2,0x7b,0x49," r
#define TILELOADD_(r) ".byte 0xc4,0xe2,0x7b,0x4b," r ",0x10"

static void on_signal(int sig, siginfo_t *si, void *ctx)
{
	ucontext_t *uc = ctx;

	if (!g_resume) {
		static const char msg[] = "probe: unexpected fault outside a probe operation\n";
		ssize_t w = write(2, msg, sizeof msg - 1);
		(void)w;
		_exit(3);
	}
	g_sig = sig;
	g_code = si->si_code;
	uc->uc_mcontext.gregs[REG_RIP] = (greg_t)g_resume;
}

/*
 * One operation: the instruction, then XGETBV(0) and XGETBV(1), then (saves) a copy of the area.
 * Nothing here calls libc.
 */
static __attribute__((noinline)) void exec_op(const struct op *o, struct result *r, uint8_t *snap)
{
	uint8_t *area = g_area[o->area];
	uint32_t lo = (uint32_t)o->rfbm, hi = (uint32_t)(o->rfbm >> 32);
	uint8_t *d = g_opdata;

	copy_bytes(g_opdata, o->data, 64);
	g_sig = 0;
	g_code = 0;
	switch (o->t) {
	case OP_FLD:
		__asm__ volatile("lea 2f(%%rip), %%r11\n\tmov %%r11, %[ip]\n\t"
				 RES_PRE "2: fldt (%[p])" RES_POST
				 : [res] "=m"(g_resume), [ip] "=m"(g_fld_ip) : [p] "r"(d) : "r11", "memory");
		break;
	case OP_FNINIT: OP0("fninit"); break;
	case OP_MOVDQA:
		if (o->reg == 0) OPM("movdqa (%[p]), %%xmm0", d);
		else if (o->reg == 1) OPM("movdqa (%[p]), %%xmm1", d);
		else OPM("movdqa (%[p]), %%xmm15", d);
		break;
	case OP_VMOVX:
		if (o->reg == 0) OPM("vmovdqu (%[p]), %%xmm0", d);
		else if (o->reg == 1) OPM("vmovdqu (%[p]), %%xmm1", d);
		else OPM("vmovdqu (%[p]), %%xmm15", d);
		break;
	case OP_VMOVY:
		if (o->reg == 0) OPM("vmovdqu (%[p]), %%ymm0", d);
		else if (o->reg == 1) OPM("vmovdqu (%[p]), %%ymm1", d);
		else OPM("vmovdqu (%[p]), %%ymm15", d);
		break;
	case OP_VMOVZ:
		if (o->reg == 0) OPM("vmovdqu64 (%[p]), %%zmm0", d);
		else if (o->reg == 1) OPM("vmovdqu64 (%[p]), %%zmm1", d);
		else if (o->reg == 16) OPM("vmovdqu64 (%[p]), %%zmm16", d);
		else OPM("vmovdqu64 (%[p]), %%zmm31", d);
		break;
	case OP_KMOV:
		if (o->reg == 1) OPM("kmovq (%[p]), %%k1", d);
		else if (o->reg == 2) OPM("kmovq (%[p]), %%k2", d);
		else OPM("kmovq (%[p]), %%k7", d);
		break;
	case OP_VZEROUPPER: OP0("vzeroupper"); break;
	case OP_VZEROALL: OP0("vzeroall"); break;
	case OP_LDMXCSR: OPM("ldmxcsr (%[p])", d); break;
	case OP_LDTILECFG: OPA(LDTILECFG_RAX, d); break;
	case OP_TILELOADD:
		if (o->reg == 0) OPT(TILELOADD_("0x04"), g_tilesrc);
		else if (o->reg == 1) OPT(TILELOADD_("0x0c"), g_tilesrc);
		else OPT(TILELOADD_("0x3c"), g_tilesrc);
		break;
	case OP_TILEZERO:
		if (o->reg == 0) OP0(TILEZERO_("0xc0"));
		else if (o->reg == 1) OP0(TILEZERO_("0xc8"));
		else OP0(TILEZERO_("0xf8"));
		break;
	case OP_TILERELEASE: OP0(TILERELEASE_); break;
	case OP_XSAVE: OPX("xsave64 (%[p])", area, lo, hi); break;
	case OP_XSAVEC: OPX("xsavec64 (%[p])", area, lo, hi); break;
	case OP_XSAVEOPT: OPX("xsaveopt64 (%[p])", area, lo, hi); break;
	case OP_XRSTOR: OPX("xrstor64 (%[p])", area, lo, hi); break;
	case OP_POKE: copy_bytes(area + o->off, o->data, o->len); break;
	case OP_FILL: fill_bytes(area, o->fill, AREA_SIZE); break;
	}
	g_resume = 0;
	r->x0 = xgetbv(0);
	r->x1 = g_has_xgetbv1 ? xgetbv(1) : 0;
	r->sig = g_sig;
	r->code = g_code;
	if (is_save(o->t))
		copy_bytes(snap, area, AREA_SIZE);
}

/* ---------------------------------------------------------------------------------------------
 * PRNG: splitmix64 (Steele, Lea, Flood 2014): state += 0x9e3779b97f4a7c15, then the mix
 * z = (z ^ z>>30) * 0xbf58476d1ce4e5b9; z = (z ^ z>>27) * 0x94d049bb133111eb; z ^ z>>31.
 */
struct rng { uint64_t s; };

static uint64_t next64(struct rng *g)
{
	uint64_t z = (g->s += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* Uniform in [0, n) (n small: the modulo bias is below 2^-50). */
static unsigned below(struct rng *g, unsigned n) { return (unsigned)(next64(g) % n); }
static int chance(struct rng *g, unsigned percent) { return below(g, 100) < percent; }

/* FNV-1a 64 of the area bytes: h = 0xcbf29ce484222325; for each byte h = (h ^ b) * 0x100000001b3. */
static uint64_t fnv1a64(const uint8_t *p, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ULL;
	for (size_t i = 0; i < n; i++)
		h = (h ^ p[i]) * 0x100000001b3ULL;
	return h;
}

/* ---------------------------------------------------------------------------------------------
 * Sequence building.
 */
static const uint8_t sane_legacy[32] = {
	0x7f, 0x03,			/* FCW 037FH */
	0, 0, 0, 0, 0, 0,		/* FSW, FTW (abridged), reserved, FOP */
	0, 0, 0, 0, 0, 0, 0, 0,		/* FIP */
	0, 0, 0, 0, 0, 0, 0, 0,		/* FDP */
	0x80, 0x1f, 0, 0,		/* MXCSR 1F80H */
	0xff, 0xff, 0, 0,		/* MXCSR_MASK */
};

static int g_seq_full;

static struct op *add(struct seq *s, int t)
{
	if (s->n >= MAXOPS) {
		g_seq_full = 1;
		return &s->ops[MAXOPS - 1];	/* overwritten; callers leave room, see gen_random */
	}
	struct op *o = &s->ops[s->n++];
	memset(o, 0, sizeof *o);
	o->t = (uint8_t)t;
	return o;
}

/* Tile operations are dropped when the probe runs without AMX. */
static void op_reg(struct seq *s, int t, int reg, const uint8_t *data, size_t len)
{
	if (g_noamx && is_tile(t))
		return;
	if ((t == OP_VMOVX || t == OP_VMOVY || t == OP_VZEROUPPER || t == OP_VZEROALL) && !g_has_avx)
		return;
	if ((t == OP_VMOVZ || t == OP_KMOV) && !g_has_avx512)
		return;
	struct op *o = add(s, t);
	o->reg = (uint8_t)reg;
	if (data)
		memcpy(o->data, data, len > 64 ? 64 : len);
}

static void op_simple(struct seq *s, int t) { op_reg(s, t, 0, NULL, 0); }

static void op_xs(struct seq *s, int t, int area, uint64_t rfbm)
{
	struct op *o = add(s, t);
	o->area = (uint8_t)area;
	o->rfbm = rfbm;
}

static void op_poke(struct seq *s, int area, unsigned off, const void *data, unsigned len)
{
	struct op *o = add(s, OP_POKE);
	o->area = (uint8_t)area;
	o->off = (uint16_t)off;
	o->len = (uint16_t)len;
	memcpy(o->data, data, len);
}

static void poke64(struct seq *s, int area, unsigned off, uint64_t v)
{
	uint8_t b[8];
	for (int i = 0; i < 8; i++)
		b[i] = (uint8_t)(v >> (8 * i));
	op_poke(s, area, off, b, 8);
}

static void poke32(struct seq *s, int area, unsigned off, uint32_t v)
{
	uint8_t b[4] = { (uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24) };
	op_poke(s, area, off, b, 4);
}

static void poke16(struct seq *s, int area, unsigned off, uint16_t v)
{
	uint8_t b[2] = { (uint8_t)v, (uint8_t)(v >> 8) };
	op_poke(s, area, off, b, 2);
}

/* XSAVE header: XSTATE_BV at 512, XCOMP_BV at 520 (SDM Vol. 1, 13.4.2). */
static void poke_header(struct seq *s, int area, uint64_t xstate_bv, uint64_t xcomp_bv)
{
	uint8_t b[16];
	for (int i = 0; i < 8; i++) {
		b[i] = (uint8_t)(xstate_bv >> (8 * i));
		b[8 + i] = (uint8_t)(xcomp_bv >> (8 * i));
	}
	op_poke(s, area, 512, b, 16);
}

static void op_fill(struct seq *s, int area, uint8_t v)
{
	struct op *o = add(s, OP_FILL);
	o->area = (uint8_t)area;
	o->fill = v;
}

static void seq_begin(struct seq *s, const char *name)
{
	snprintf(s->name, sizeof s->name, "%s", name);
	s->n = 0;
	/* The common start: every component initialized, both work areas a known pattern with a
	 * sane legacy region and a zero header. */
	op_xs(s, OP_XRSTOR, 2, ~0ULL);
	static const uint8_t zero[64];
	op_fill(s, 0, 0x5a);
	op_poke(s, 0, 0, sane_legacy, 32);
	op_poke(s, 0, 512, zero, 64);
	op_fill(s, 1, 0xa5);
	op_poke(s, 1, 0, sane_legacy, 32);
	op_poke(s, 1, 512, zero, 64);
}

/* TILECFG (SDM Vol. 1, 3.2 "Intel AMX" / Vol. 2 LDTILECFG): byte 0 palette, 1 start_row, 2-15
 * reserved, 16-47 colsb[16] (u16; tmm8-15 reserved), 48-63 rows[16] (u8; 56-63 reserved). */
static void tilecfg_valid(uint8_t c[64], unsigned ntiles, unsigned rows, unsigned colsb)
{
	memset(c, 0, 64);
	c[0] = 1;
	for (unsigned i = 0; i < ntiles && i < 8; i++) {
		c[16 + 2 * i] = (uint8_t)colsb;
		c[16 + 2 * i + 1] = (uint8_t)(colsb >> 8);
		c[48 + i] = (uint8_t)rows;
	}
}

static void op_ldtilecfg(struct seq *s, const uint8_t c[64]) { op_reg(s, OP_LDTILECFG, 0, c, 64); }

/* ---------------------------------------------------------------------------------------------
 * Random values.
 */
static void rand_bytes(struct rng *g, uint8_t *b, size_t n)
{
	for (size_t i = 0; i < n; i += 8) {
		uint64_t v = next64(g);
		for (size_t j = 0; j < 8 && i + j < n; j++)
			b[i + j] = (uint8_t)(v >> (8 * j));
	}
}

/* A register value: a good share of all-zero values (XINUSE is set by a write, not by value),
 * some with a single non-zero byte, the rest random. */
static void rand_value(struct rng *g, uint8_t b[64], size_t n)
{
	memset(b, 0, 64);
	unsigned k = below(g, 100);
	if (k < 35)
		return;
	if (k < 45) {
		b[below(g, (unsigned)n)] = (uint8_t)(1 + below(g, 255));
		return;
	}
	rand_bytes(g, b, n);
}

static uint64_t rand_subset(struct rng *g, uint64_t mask) { return next64(g) & mask; }

static uint64_t rand_rfbm(struct rng *g)
{
	switch (below(g, 8)) {
	case 0: case 1: case 2: return ~0ULL;
	case 3: return g_xcr0;
	case 4: return rand_subset(g, g_xcr0);
	case 5: return next64(g);
	case 6: return g_noamx ? 0x3 : (below(g, 2) ? 0x40000 : 0x60000);
	default: return 1ULL << below(g, 19);
	}
}

/* A TILECFG image: mostly valid palette-1 configurations, palette 0, and every invalid kind. */
static void rand_tilecfg(struct rng *g, uint8_t c[64])
{
	memset(c, 0, 64);
	unsigned kind = below(g, 20);
	if (kind < 3) {			/* palette 0 with anything else */
		rand_bytes(g, c, 64);
		c[0] = 0;
		if (chance(g, 50))
			memset(c + 1, 0, 63);
		return;
	}
	c[0] = 1;
	for (unsigned i = 0; i < 8; i++) {
		if (chance(g, 20))
			continue;
		unsigned colsb = 1 + below(g, 64), rows = 1 + below(g, 16);
		c[16 + 2 * i] = (uint8_t)colsb;
		c[48 + i] = (uint8_t)rows;
	}
	if (kind < 12)
		return;			/* valid */
	switch (kind) {
	case 12: c[0] = 2; break;				/* unsupported palette */
	case 13: c[2 + below(g, 14)] = (uint8_t)(1 + below(g, 255)); break;	/* reserved 2-15 */
	case 14: c[56 + below(g, 8)] = (uint8_t)(1 + below(g, 255)); break;	/* reserved rows */
	case 15: c[32 + below(g, 16)] = (uint8_t)(1 + below(g, 255)); break;	/* reserved colsb */
	case 16: c[16 + 2 * below(g, 8)] = (uint8_t)(65 + below(g, 64)); break;	/* colsb > 64 */
	case 17: c[48 + below(g, 8)] = (uint8_t)(17 + below(g, 64)); break;	/* rows > 16 */
	case 18: c[1] = (uint8_t)(1 + below(g, 15)); break;	/* start_row != 0: accepted */
	default: {						/* rows xor colsb zero */
		unsigned i = below(g, 8);
		if (chance(g, 50)) { c[16 + 2 * i] = 0; c[48 + i] = 4; }
		else { c[16 + 2 * i] = 16; c[48 + i] = 0; }
	}
	}
}

static const uint32_t mxcsr_values[] = {
	0x1f80, 0x0000, 0xffff, 0x1f00, 0x9fc0, 0x0040, 0x6000, 0x003f,
	0x10000, 0x80001f80, 0xffffffff, 0x00021f80,
};

static uint32_t rand_mxcsr(struct rng *g)
{
	if (chance(g, 30))
		return 0x1f80;
	if (chance(g, 40))
		return (uint32_t)next64(g) & 0xffff;
	return mxcsr_values[below(g, sizeof mxcsr_values / sizeof mxcsr_values[0])];
}

/* A bit of 0..62 outside XCR0 (without AMX, never the TILECFG/TILEDATA bits). */
static uint64_t bit_outside_xcr0(struct rng *g)
{
	for (;;) {
		unsigned b = below(g, 63);
		if (g_noamx && (b == 17 || b == 18))
			continue;
		if (!(g_xcr0 >> b & 1))
			return 1ULL << b;
	}
}

/* POKEs before an XRSTOR: header, TILECFG, FCW, MXCSR, component bytes. */
static void rand_restore(struct rng *g, struct seq *s)
{
	int area = (int)below(g, 2);
	unsigned hk = below(g, 12);
	uint64_t bv = rand_subset(g, g_xcr0), cbv = 0;

	switch (hk) {
	case 0: case 1: break;			/* keep what a save left there */
	case 2: case 3:				/* standard form */
		poke64(s, area, 512, bv);
		break;
	case 4:					/* XSTATE_BV bits outside XCR0 */
		poke64(s, area, 512, bv | bit_outside_xcr0(g));
		break;
	case 5: case 6:				/* compacted, valid */
		cbv = (1ULL << 63) | g_xcr0;
		if (chance(g, 30))
			cbv = (1ULL << 63) | rand_subset(g, g_xcr0);
		poke64(s, area, 512, chance(g, 80) ? (bv & cbv) : bv);
		poke64(s, area, 520, cbv);
		break;
	case 7:					/* compacted with XSTATE_BV[63] */
		poke64(s, area, 512, bv | (1ULL << 63));
		poke64(s, area, 520, (1ULL << 63) | g_xcr0);
		break;
	case 8:					/* XCOMP_BV odd: bit 63 clear, or bits outside XCR0 */
		poke64(s, area, 512, bv);
		poke64(s, area, 520, chance(g, 50) ? rand_subset(g, g_xcr0) | 1
						   : (1ULL << 63) | g_xcr0 | bit_outside_xcr0(g));
		break;
	case 9: {				/* non-zero reserved bytes 16..63 */
		uint8_t b = (uint8_t)(1 + below(g, 255));
		poke64(s, area, 512, bv);
		op_poke(s, area, 528 + below(g, 48), &b, 1);
		break;
	}
	case 10:				/* random whole header */
		poke64(s, area, 512, next64(g));
		poke64(s, area, 520, next64(g));
		break;
	default:				/* everything a save of XCR0 would name */
		poke64(s, area, 512, g_xcr0);
		break;
	}
	if (!g_noamx && chance(g, 40)) {
		uint8_t c[64];
		rand_tilecfg(g, c);
		unsigned where = below(g, 3);
		if (where != 1)
			op_poke(s, area, g_std_off[17], c, 64);
		if (where != 0)
			op_poke(s, area, g_cmp_off[17], c, 64);
	}
	if (chance(g, 10))			/* FCW edge values; SDM 8.1.5 */
		poke16(s, area, 0, chance(g, 50) ? 0x0000 : (chance(g, 50) ? 0xffff : (uint16_t)next64(g)));
	if (chance(g, 12))
		poke32(s, area, 24, rand_mxcsr(g));
	if (chance(g, 15)) {			/* a component's bytes, random or zero */
		uint8_t v[64];
		rand_value(g, v, 64);
		unsigned comps[8], nc = 0;
		for (unsigned i = 2; i < 19; i++)
			if (g_xcr0 >> i & 1)
				comps[nc < 8 ? nc++ : 7] = i;
		unsigned off = chance(g, 30) ? 160 + 64 * below(g, 4)	/* XMM registers */
					     : (nc ? (chance(g, 50) ? g_std_off : g_cmp_off)[comps[below(g, nc)]] : 160);
		op_poke(s, area, off, v, 64);
	}
	op_xs(s, OP_XRSTOR, area, rand_rfbm(g));
}

static void gen_random(struct rng *g, struct seq *s)
{
	static const unsigned char xmm_regs[] = { 0, 1, 15 }, zmm_regs[] = { 0, 1, 16, 31 },
				   k_regs[] = { 1, 2, 7 }, t_regs[] = { 0, 1, 7 };
	/* action weights */
	enum { A_FLD, A_FNINIT, A_MOVDQA, A_VMOVX, A_VMOVY, A_VMOVZ, A_KMOV, A_VZU, A_VZA, A_LDMXCSR,
	       A_LDTILECFG, A_TILELOADD, A_TILEZERO, A_TILERELEASE, A_SAVE, A_RESTORE, A_RESET, A_N };
	static const unsigned w[A_N] = { 4, 2, 4, 4, 5, 5, 3, 2, 2, 3, 5, 4, 4, 2, 14, 14, 1 };
	unsigned total = 0;
	for (int a = 0; a < A_N; a++)
		total += w[a];

	seq_begin(s, "random");
	unsigned nact = 8 + below(g, 12);
	for (unsigned k = 0; k < nact && s->n < MAXOPS - 16; k++) {
		unsigned x = below(g, total), a = 0;
		while (x >= w[a])
			x -= w[a++];
		uint8_t v[64];
		switch (a) {
		case A_FLD:
			rand_value(g, v, 10);
			op_reg(s, OP_FLD, 0, v, 10);
			break;
		case A_FNINIT: op_simple(s, OP_FNINIT); break;
		case A_MOVDQA: case A_VMOVX: case A_VMOVY: case A_VMOVZ: {
			static const int t[] = { OP_MOVDQA, OP_VMOVX, OP_VMOVY, OP_VMOVZ };
			static const unsigned n[] = { 16, 16, 32, 64 };
			int ti = (int)(a - A_MOVDQA);
			int reg = ti == 3 ? zmm_regs[below(g, 4)] : xmm_regs[below(g, 3)];
			rand_value(g, v, n[ti]);
			op_reg(s, t[ti], reg, v, n[ti]);
			break;
		}
		case A_KMOV:
			rand_value(g, v, 8);
			op_reg(s, OP_KMOV, k_regs[below(g, 3)], v, 8);
			break;
		case A_VZU: op_simple(s, OP_VZEROUPPER); break;
		case A_VZA: op_simple(s, OP_VZEROALL); break;
		case A_LDMXCSR: {
			uint32_t m = rand_mxcsr(g);
			uint8_t b[4] = { (uint8_t)m, (uint8_t)(m >> 8), (uint8_t)(m >> 16), (uint8_t)(m >> 24) };
			op_reg(s, OP_LDMXCSR, 0, b, 4);
			break;
		}
		case A_LDTILECFG:
			rand_tilecfg(g, v);
			op_ldtilecfg(s, v);
			break;
		case A_TILELOADD: op_reg(s, OP_TILELOADD, t_regs[below(g, 3)], NULL, 0); break;
		case A_TILEZERO: op_reg(s, OP_TILEZERO, t_regs[below(g, 3)], NULL, 0); break;
		case A_TILERELEASE: op_simple(s, OP_TILERELEASE); break;
		case A_SAVE: {
			static const int t[] = { OP_XSAVE, OP_XSAVEC, OP_XSAVEOPT };
			op_xs(s, t[below(g, 3)], (int)below(g, 2), rand_rfbm(g));
			break;
		}
		case A_RESTORE: rand_restore(g, s); break;
		default: op_xs(s, OP_XRSTOR, 2, ~0ULL); break;
		}
	}
	/* Always end with a save of everything, so the final state is seen. */
	static const int t[] = { OP_XSAVE, OP_XSAVEC, OP_XSAVEOPT };
	op_xs(s, t[below(g, 3)], (int)below(g, 2), ~0ULL);
}

/* ---------------------------------------------------------------------------------------------
 * Targeted sequences: one or more per rule R1..R11 of the silicon findings (see README).
 * Each returns 0 when it does not apply to this mode (AMX-only sequences under --no-amx).
 */
typedef int (*targeted_fn)(struct seq *s, struct rng *g);

static const uint64_t ALL = ~0ULL;
static const uint8_t zeros64[64];

static void some_value(struct rng *g, uint8_t v[64])
{
	rand_bytes(g, v, 64);
	v[0] |= 1;
}

/* R1: writing zeros sets XINUSE for the register's component. */
static int t_xinuse_zero_write(struct seq *s, struct rng *g)
{
	(void)g;
	seq_begin(s, "xinuse-zero-write");
	op_reg(s, OP_MOVDQA, 0, zeros64, 16);
	op_xs(s, OP_XSAVE, 0, ALL);
	op_xs(s, OP_XRSTOR, 2, ALL);
	op_reg(s, OP_VMOVY, 1, zeros64, 32);
	op_xs(s, OP_XSAVE, 1, ALL);
	op_xs(s, OP_XRSTOR, 2, ALL);
	op_reg(s, OP_VMOVZ, 16, zeros64, 64);
	op_xs(s, OP_XSAVE, 0, ALL);
	op_xs(s, OP_XRSTOR, 2, ALL);
	op_reg(s, OP_VMOVZ, 0, zeros64, 64);
	op_xs(s, OP_XSAVEC, 1, ALL);
	op_xs(s, OP_XRSTOR, 2, ALL);
	op_reg(s, OP_KMOV, 1, zeros64, 8);
	op_xs(s, OP_XSAVE, 0, ALL);
	op_xs(s, OP_XRSTOR, 2, ALL);
	op_simple(s, OP_FNINIT);
	op_xs(s, OP_XSAVE, 1, ALL);
	op_xs(s, OP_XRSTOR, 2, ALL);
	op_reg(s, OP_FLD, 0, zeros64, 10);
	op_xs(s, OP_XSAVE, 0, ALL);
	return 1;
}

/* R1: a VEX.128 write zeroes the upper half but neither sets nor clears XINUSE[2]. */
static int t_vex128_xinuse(struct seq *s, struct rng *g)
{
	uint8_t v[64];
	some_value(g, v);
	seq_begin(s, "vex128-xinuse");
	op_reg(s, OP_VMOVY, 0, v, 32);
	op_reg(s, OP_VMOVX, 0, zeros64, 16);
	op_xs(s, OP_XSAVE, 0, ALL);
	op_xs(s, OP_XRSTOR, 2, ALL);
	op_reg(s, OP_VMOVX, 1, v, 16);
	op_xs(s, OP_XSAVE, 1, ALL);
	op_reg(s, OP_VMOVX, 15, zeros64, 16);
	op_xs(s, OP_XSAVEC, 0, ALL);
	return 1;
}

/* R1: VZEROUPPER clears XINUSE[2] and [6] and leaves [1]; VZEROALL leaves [1] set. */
static int t_vzero_xinuse(struct seq *s, struct rng *g)
{
	uint8_t v[64];
	some_value(g, v);
	seq_begin(s, "vzeroupper-xinuse");
	op_reg(s, OP_VMOVZ, 0, v, 64);
	op_reg(s, OP_VMOVZ, 16, v, 64);
	op_reg(s, OP_VMOVZ, 31, v, 64);
	op_simple(s, OP_VZEROUPPER);
	op_xs(s, OP_XSAVE, 0, ALL);
	op_reg(s, OP_VMOVY, 1, v, 32);
	op_simple(s, OP_VZEROALL);
	op_xs(s, OP_XSAVE, 1, ALL);
	op_xs(s, OP_XRSTOR, 2, ALL);
	op_simple(s, OP_VZEROALL);
	op_xs(s, OP_XSAVEC, 0, ALL);
	return 1;
}

/* R1b: LDTILECFG sets XINUSE[17], not [18]; TILEZERO sets [18] although the tiles are zero. */
static int t_tilezero_xinuse(struct seq *s, struct rng *g)
{
	uint8_t c[64];
	(void)g;
	if (g_noamx)
		return 0;
	seq_begin(s, "tilezero-xinuse");
	tilecfg_valid(c, 8, 16, 64);
	op_ldtilecfg(s, c);
	op_xs(s, OP_XSAVE, 0, ALL);
	op_reg(s, OP_TILEZERO, 0, NULL, 0);
	op_xs(s, OP_XSAVE, 1, ALL);
	op_reg(s, OP_TILEZERO, 7, NULL, 0);
	op_xs(s, OP_XSAVEC, 0, ALL);
	op_simple(s, OP_TILERELEASE);
	op_xs(s, OP_XSAVE, 1, ALL);
	return 1;
}

/* R2: XRSTOR of a TILECFG image with palette 0 initializes TILECFG. */
static int palette0(struct seq *s, const char *name, int compacted, int zero_image)
{
	uint8_t c[64], p0[64];
	if (g_noamx)
		return 0;
	seq_begin(s, name);
	tilecfg_valid(c, 8, 16, 64);
	op_ldtilecfg(s, c);				/* TILECFG in use before */
	if (zero_image) {
		memset(p0, 0, 64);
	} else {
		tilecfg_valid(p0, 4, 8, 32);
		p0[0] = 0;
		p0[1] = 3;
	}
	if (compacted) {
		op_poke(s, 0, g_cmp_off[17], p0, 64);
		poke_header(s, 0, 0x20003, (1ULL << 63) | g_xcr0);
	} else {
		op_poke(s, 0, g_std_off[17], p0, 64);
		poke_header(s, 0, 0x20003, 0);
	}
	op_xs(s, OP_XRSTOR, 0, ALL);
	op_xs(s, OP_XSAVE, 1, ALL);
	op_xs(s, OP_XSAVEOPT, 0, ALL);
	return 1;
}
static int t_palette0(struct seq *s, struct rng *g) { (void)g; return palette0(s, "palette0-xrstor", 0, 0); }
static int t_palette0c(struct seq *s, struct rng *g) { (void)g; return palette0(s, "palette0-xrstor-compacted", 1, 0); }
static int t_palette0z(struct seq *s, struct rng *g) { (void)g; return palette0(s, "palette0-zero-image-xrstor", 0, 1); }

/* R3: XRSTOR of an invalid TILECFG: no fault, TILECFG initialized, TILEDATA still loaded. */
static int invalid_tilecfg(struct seq *s, const char *name, int kind, int compacted)
{
	uint8_t c[64], bad[64];
	if (g_noamx)
		return 0;
	seq_begin(s, name);
	tilecfg_valid(c, 8, 16, 64);
	op_ldtilecfg(s, c);
	op_reg(s, OP_TILELOADD, 1, NULL, 0);
	tilecfg_valid(bad, 8, 16, 64);
	switch (kind) {
	case 0: bad[0] = 2; break;		/* palette 2 */
	case 1: bad[9] = 0x11; break;		/* reserved bytes 2-15 */
	case 2: bad[60] = 0x22; break;		/* reserved bytes 56-63 */
	case 3: bad[16 + 2 * 3] = 65; break;	/* colsb > 64 */
	case 4: bad[48 + 5] = 17; break;	/* rows > 16 */
	}
	/* TILEDATA in the area is the 5AH fill: a later save shows whether it was loaded. */
	if (compacted) {
		op_poke(s, 0, g_cmp_off[17], bad, 64);
		poke_header(s, 0, 0x60003, (1ULL << 63) | g_xcr0);
	} else {
		op_poke(s, 0, g_std_off[17], bad, 64);
		poke_header(s, 0, 0x60003, 0);
	}
	op_xs(s, OP_XRSTOR, 0, ALL);
	op_xs(s, OP_XSAVE, 1, ALL);
	op_reg(s, OP_TILEZERO, 0, NULL, 0);	/* #UD if TILECFG was initialized */
	op_xs(s, OP_XSAVEC, 1, ALL);
	return 1;
}
static int t_inv0(struct seq *s, struct rng *g) { (void)g; return invalid_tilecfg(s, "invalid-tilecfg-xrstor", 0, 0); }
static int t_inv1(struct seq *s, struct rng *g) { (void)g; return invalid_tilecfg(s, "invalid-tilecfg-xrstor-reserved2", 1, 0); }
static int t_inv2(struct seq *s, struct rng *g) { (void)g; return invalid_tilecfg(s, "invalid-tilecfg-xrstor-reserved56", 2, 0); }
static int t_inv3(struct seq *s, struct rng *g) { (void)g; return invalid_tilecfg(s, "invalid-tilecfg-xrstor-colsb65", 3, 0); }
static int t_inv4(struct seq *s, struct rng *g) { (void)g; return invalid_tilecfg(s, "invalid-tilecfg-xrstor-rows17", 4, 0); }
static int t_inv0c(struct seq *s, struct rng *g) { (void)g; return invalid_tilecfg(s, "invalid-tilecfg-xrstor-compacted", 0, 1); }
static int t_inv3c(struct seq *s, struct rng *g) { (void)g; return invalid_tilecfg(s, "invalid-tilecfg-xrstor-compacted-colsb65", 3, 1); }

/* R3: start_row != 0 is accepted and kept, by LDTILECFG and by XRSTOR. */
static int t_start_row(struct seq *s, struct rng *g)
{
	uint8_t c[64];
	(void)g;
	if (g_noamx)
		return 0;
	seq_begin(s, "tilecfg-start-row");
	tilecfg_valid(c, 8, 16, 64);
	c[1] = 5;
	op_ldtilecfg(s, c);
	op_xs(s, OP_XSAVE, 0, ALL);
	c[1] = 7;
	op_poke(s, 1, g_std_off[17], c, 64);
	poke_header(s, 1, 0x20003, 0);
	op_xs(s, OP_XRSTOR, 1, ALL);
	op_xs(s, OP_XSAVE, 0, ALL);
	return 1;
}

/* R4: compacted XRSTOR with XSTATE_BV[63] = 1 raises #GP; then the same without bit 63. */
static int t_compacted_bv63(struct seq *s, struct rng *g)
{
	(void)g;
	seq_begin(s, "compacted-bv63");
	poke_header(s, 0, (1ULL << 63) | 0x3, (1ULL << 63) | g_xcr0);
	op_xs(s, OP_XRSTOR, 0, ALL);
	op_reg(s, OP_MOVDQA, 1, zeros64, 16);	/* the next op still runs */
	poke_header(s, 0, 0x3, (1ULL << 63) | g_xcr0);
	op_xs(s, OP_XRSTOR, 0, ALL);
	poke_header(s, 1, (1ULL << 63) | 0x3, 0);	/* standard form: bit 63 is outside XCR0 */
	op_xs(s, OP_XRSTOR, 1, ALL);
	op_xs(s, OP_XSAVE, 1, ALL);
	return 1;
}

/* R5: with XFD armed (noperm), the XFD #NM comes after the header #GPs but before the MXCSR #GP. */
static int xfd_order(struct seq *s, const char *name, int kind)
{
	if (g_noamx)
		return 0;
	seq_begin(s, name);
	switch (kind) {
	case 0:						/* MXCSR reserved bit */
		poke32(s, 0, 24, 0x00011f80);
		poke_header(s, 0, 0x40003, 0);
		break;
	case 1:						/* compacted, MXCSR reserved bit */
		poke32(s, 0, 24, 0x00011f80);
		poke_header(s, 0, 0x40003, (1ULL << 63) | g_xcr0);
		break;
	case 2: {					/* header bytes 16-23 non-zero */
		static const uint8_t one = 1;
		poke_header(s, 0, 0x40003, 0);
		op_poke(s, 0, 528, &one, 1);
		break;
	}
	default:					/* XSTATE_BV bit outside XCR0 */
		poke_header(s, 0, 0x40003 | (1ULL << 8), 0);
		break;
	}
	op_xs(s, OP_XRSTOR, 0, ALL);
	op_xs(s, OP_XSAVE, 1, ALL);
	return 1;
}
static int t_xfd0(struct seq *s, struct rng *g) { (void)g; return xfd_order(s, "xfd-nm-vs-mxcsr-gp", 0); }
static int t_xfd1(struct seq *s, struct rng *g) { (void)g; return xfd_order(s, "xfd-nm-vs-mxcsr-gp-compacted", 1); }
static int t_xfd2(struct seq *s, struct rng *g) { (void)g; return xfd_order(s, "xfd-nm-vs-header-gp", 2); }
static int t_xfd3(struct seq *s, struct rng *g) { (void)g; return xfd_order(s, "xfd-nm-vs-xstate-bv-gp", 3); }

/* R6: LDMXCSR of any value, 1F80H included, sets XINUSE[1]. */
static int t_ldmxcsr_xinuse(struct seq *s, struct rng *g)
{
	static const uint8_t m1f80[4] = { 0x80, 0x1f, 0, 0 }, m1f00[4] = { 0x00, 0x1f, 0, 0 },
			     mbad[4] = { 0x80, 0x1f, 0x01, 0 };
	(void)g;
	seq_begin(s, "ldmxcsr-xinuse");
	op_reg(s, OP_LDMXCSR, 0, m1f80, 4);
	op_xs(s, OP_XSAVE, 0, ALL);
	op_xs(s, OP_XRSTOR, 2, ALL);
	op_reg(s, OP_LDMXCSR, 0, m1f00, 4);
	op_xs(s, OP_XSAVE, 1, ALL);
	op_xs(s, OP_XRSTOR, 2, ALL);
	op_reg(s, OP_LDMXCSR, 0, mbad, 4);	/* #GP; XINUSE[1] untouched? */
	op_xs(s, OP_XSAVE, 0, ALL);
	return 1;
}

/* R6: XRSTOR that initializes SSE while loading MXCSR != 1F80H. */
static int t_xrstor_mxcsr_init_sse(struct seq *s, struct rng *g)
{
	(void)g;
	seq_begin(s, "xrstor-mxcsr-init-sse");
	poke32(s, 0, 24, 0x1f00);
	poke_header(s, 0, 0x1, 0);
	op_xs(s, OP_XRSTOR, 0, ALL);
	op_xs(s, OP_XSAVE, 1, ALL);
	op_xs(s, OP_XSAVEOPT, 0, ALL);
	poke_header(s, 1, 0x0, (1ULL << 63) | g_xcr0);	/* compacted form, same MXCSR in area 1? */
	poke32(s, 1, 24, 0x1f00);
	op_xs(s, OP_XRSTOR, 1, ALL);
	op_xs(s, OP_XSAVE, 0, ALL);
	return 1;
}

/* R7: what XSAVEOPT writes after an XRSTOR of the same area with nothing modified, and after a
 * register write. The pokes between scribble over what XSAVEOPT may skip. */
static int xsaveopt_seq(struct seq *s, const char *name, struct rng *g)
{
	uint8_t c[64], v[64], junk[64];
	seq_begin(s, name);
	some_value(g, v);
	memset(junk, 0xcc, 64);
	if (!g_noamx) {
		tilecfg_valid(c, 8, 16, 64);
		op_ldtilecfg(s, c);
		op_reg(s, OP_TILELOADD, 0, NULL, 0);
	}
	op_reg(s, OP_VMOVZ, 1, v, 64);
	op_reg(s, OP_KMOV, 2, v, 8);
	op_reg(s, OP_FLD, 0, v, 10);
	op_xs(s, OP_XSAVE, 0, ALL);
	op_xs(s, OP_XRSTOR, 0, ALL);
	op_poke(s, 0, 24, junk, 8);			/* MXCSR, MXCSR_MASK */
	op_poke(s, 0, 160, junk, 64);			/* XMM0-3 */
	op_poke(s, 0, 32, junk, 64);			/* ST0-3 */
	if (g_std_off[2]) op_poke(s, 0, g_std_off[2], junk, 64);
	if (g_std_off[5]) op_poke(s, 0, g_std_off[5], junk, 64);
	if (!g_noamx) {
		op_poke(s, 0, g_std_off[17], junk, 64);
		op_poke(s, 0, g_std_off[18], junk, 64);
	}
	op_xs(s, OP_XSAVEOPT, 0, ALL);
	op_reg(s, OP_VMOVY, 1, v, 32);
	op_poke(s, 0, 160, junk, 64);
	if (g_std_off[2]) op_poke(s, 0, g_std_off[2], junk, 64);
	op_xs(s, OP_XSAVEOPT, 0, ALL);
	op_reg(s, OP_TILEZERO, 0, NULL, 0);
	if (!g_noamx)
		op_poke(s, 0, g_std_off[18], junk, 64);
	op_xs(s, OP_XSAVEOPT, 0, ALL);
	op_xs(s, OP_XSAVEOPT, 1, ALL);			/* another area: everything in use */
	op_poke(s, 0, 24, junk, 8);
	op_xs(s, OP_XSAVEOPT, 0, ALL);			/* the optimization for area 0 intact */
	return 1;
}
static int t_xsaveopt(struct seq *s, struct rng *g) { return xsaveopt_seq(s, g_noamx ? "xsaveopt-unmodified" : "xsaveopt-tilecfg", g); }

/* R8: TILEZERO/TILELOADD with tiles unconfigured raise #UD even when XFD[18] = 1. */
static int t_tile_ud_vs_xfd(struct seq *s, struct rng *g)
{
	uint8_t c[64];
	(void)g;
	if (g_noamx)
		return 0;
	seq_begin(s, "tile-ud-vs-xfd-nm");
	op_reg(s, OP_TILEZERO, 0, NULL, 0);		/* no LDTILECFG: #UD */
	op_reg(s, OP_TILELOADD, 1, NULL, 0);
	tilecfg_valid(c, 1, 16, 64);			/* only tmm0 */
	op_ldtilecfg(s, c);
	op_reg(s, OP_TILEZERO, 7, NULL, 0);		/* invalid for the configuration: #UD */
	op_reg(s, OP_TILELOADD, 1, NULL, 0);
	op_reg(s, OP_TILEZERO, 0, NULL, 0);		/* valid: #NM when XFD[18] = 1 */
	op_reg(s, OP_TILELOADD, 0, NULL, 0);
	op_xs(s, OP_XSAVE, 0, ALL);
	op_simple(s, OP_TILERELEASE);
	op_reg(s, OP_TILELOADD, 0, NULL, 0);		/* released: #UD again */
	return 1;
}

/* R9: FCW reserved bits; XRSTOR of FCW 0000H and FFFFH (SDM Vol. 1, 8.1.5). */
static int t_fcw_reserved(struct seq *s, struct rng *g)
{
	(void)g;
	seq_begin(s, "fcw-reserved");
	poke16(s, 0, 0, 0x0000);
	poke_header(s, 0, 0x1, 0);
	op_xs(s, OP_XRSTOR, 0, 0x1);
	op_xs(s, OP_XSAVE, 1, 0x1);
	poke16(s, 0, 0, 0xffff);
	op_xs(s, OP_XRSTOR, 0, 0x1);
	op_xs(s, OP_XSAVE, 1, ALL);
	poke16(s, 1, 0, 0x0000);
	poke_header(s, 1, 0x1, (1ULL << 63) | g_xcr0);
	op_xs(s, OP_XRSTOR, 1, ALL);
	op_xs(s, OP_XSAVEC, 0, ALL);
	return 1;
}

/* R10: compacted XRSTOR with an invalid MXCSR raises #GP after loading the other components;
 * the standard form raises it with the state untouched. */
static int bad_mxcsr(struct seq *s, const char *name, int compacted, struct rng *g)
{
	uint8_t c[64], v[64];
	seq_begin(s, name);
	some_value(g, v);
	op_reg(s, OP_FLD, 0, v, 10);
	op_reg(s, OP_KMOV, 1, v, 8);
	op_reg(s, OP_VMOVZ, 16, v, 64);
	op_reg(s, OP_VMOVY, 0, v, 32);
	if (!g_noamx) {
		tilecfg_valid(c, 8, 16, 64);
		op_ldtilecfg(s, c);
		op_reg(s, OP_TILELOADD, 0, NULL, 0);
	}
	op_xs(s, compacted ? OP_XSAVEC : OP_XSAVE, 0, ALL);
	op_xs(s, OP_XRSTOR, 2, ALL);
	poke32(s, 0, 24, 0x00011f80);		/* bit 16: reserved on every MXCSR_MASK */
	op_xs(s, OP_XRSTOR, 0, ALL);
	op_xs(s, OP_XSAVE, 1, ALL);
	return 1;
}
static int t_bad_mxcsr_c(struct seq *s, struct rng *g) { return bad_mxcsr(s, "compacted-bad-mxcsr", 1, g); }
static int t_bad_mxcsr_s(struct seq *s, struct rng *g) { return bad_mxcsr(s, "standard-bad-mxcsr", 0, g); }

/* R11: FLD records FIP, FOP and FDP. */
static int t_fld_fip(struct seq *s, struct rng *g)
{
	uint8_t v[64];
	some_value(g, v);
	seq_begin(s, "fld-fip");
	op_simple(s, OP_FNINIT);
	op_reg(s, OP_FLD, 0, v, 10);
	op_xs(s, OP_XSAVE, 0, ALL);
	op_reg(s, OP_FLD, 0, zeros64, 10);
	op_xs(s, OP_XSAVEC, 1, ALL);
	op_xs(s, OP_XSAVEOPT, 0, ALL);
	return 1;
}

/* Not a finding, the signal path itself: an unmasked x87 stack overflow is pending until the next
 * waiting x87 instruction, which raises #MF (SIGFPE); sigreturn restores FSW.ES, so the next FLD
 * faults again; FNINIT (no wait) clears it (SDM Vol. 1, 8.6 and 8.7). */
static int t_x87_pending(struct seq *s, struct rng *g)
{
	(void)g;
	seq_begin(s, "x87-unmasked-pending");
	poke16(s, 0, 0, 0x0000);
	poke_header(s, 0, 0x1, 0);
	op_xs(s, OP_XRSTOR, 0, 0x1);
	for (int i = 0; i < 10; i++)
		op_reg(s, OP_FLD, 0, zeros64, 10);
	op_xs(s, OP_XSAVE, 1, ALL);
	op_reg(s, OP_FLD, 0, zeros64, 10);
	op_simple(s, OP_FNINIT);
	op_reg(s, OP_FLD, 0, zeros64, 10);
	op_xs(s, OP_XSAVE, 0, ALL);
	return 1;
}

static const targeted_fn targeted[] = {
	t_xinuse_zero_write, t_vex128_xinuse, t_vzero_xinuse,		/* R1 */
	t_tilezero_xinuse,						/* R1b */
	t_palette0, t_palette0c, t_palette0z,				/* R2 */
	t_inv0, t_inv1, t_inv2, t_inv3, t_inv4, t_inv0c, t_inv3c, t_start_row,	/* R3 */
	t_compacted_bv63,						/* R4 */
	t_xfd0, t_xfd1, t_xfd2, t_xfd3,					/* R5 */
	t_ldmxcsr_xinuse, t_xrstor_mxcsr_init_sse,			/* R6 */
	t_xsaveopt,							/* R7 */
	t_tile_ud_vs_xfd,						/* R8 */
	t_fcw_reserved,							/* R9 */
	t_bad_mxcsr_c, t_bad_mxcsr_s,					/* R10 */
	t_fld_fip,							/* R11 */
	t_x87_pending,							/* SIGFPE path */
};

/* ---------------------------------------------------------------------------------------------
 * Output.
 */
static FILE *g_out;

static void put_hex(const uint8_t *p, size_t n)
{
	static const char hx[] = "0123456789abcdef";
	char buf[512];
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		buf[k++] = hx[p[i] >> 4];
		buf[k++] = hx[p[i] & 15];
		if (k == sizeof buf) {
			fwrite(buf, 1, k, g_out);
			k = 0;
		}
	}
	fwrite(buf, 1, k, g_out);
}

static void write_run(const struct seq *s, int seqno, int run, long csw)
{
	fprintf(g_out, "{\"k\":\"run\",\"seq\":%d,\"name\":\"%s\",\"run\":%d,\"csw\":%ld,\"nops\":%d}\n",
		seqno, s->name, run, csw, s->n);
	for (int i = 0; i < s->n; i++) {
		const struct op *o = &s->ops[i];
		const struct result *r = &g_res[i];
		fprintf(g_out, "{\"k\":\"op\",\"seq\":%d,\"run\":%d,\"i\":%d,\"t\":\"%s\",\"reg\":%u,\"area\":%u,"
			"\"off\":%u,\"len\":%u,\"fill\":%u,\"rfbm\":\"%" PRIx64 "\",\"data\":\"",
			seqno, run, i, op_names[o->t], o->reg, o->area, o->off, o->len, o->fill, o->rfbm);
		put_hex(o->data, 64);
		fprintf(g_out, "\",\"x0\":\"%" PRIx64 "\"", r->x0);
		if (g_has_xgetbv1)
			fprintf(g_out, ",\"x1\":\"%" PRIx64 "\"", r->x1);
		fprintf(g_out, ",\"sig\":%d,\"code\":%d", r->sig, r->code);
		if (is_save(o->t)) {
			fprintf(g_out, ",\"h\":\"%016" PRIx64 "\"", fnv1a64(g_snap[i], AREA_SIZE));
			if (run == 0) {
				fputs(",\"snap\":\"", g_out);
				put_hex(g_snap[i], AREA_SIZE);
				fputc('"', g_out);
			}
		}
		fputs("}\n", g_out);
	}
}

static long csw_now(void)
{
	struct rusage ru;
	if (getrusage(RUSAGE_THREAD, &ru) != 0)
		return 0;
	return ru.ru_nvcsw + ru.ru_nivcsw;
}

/*
 * One run of a sequence. Between the first and the last exec_op only exec_op runs: no libc, no
 * output. csw_now() is resolved through the PLT before the first run (main calls it once).
 */
static long run_seq(const struct seq *s)
{
	long before = csw_now();
	for (int i = 0; i < s->n; i++)
		exec_op(&s->ops[i], &g_res[i], g_snap[i]);
	return csw_now() - before;
}

/* ---------------------------------------------------------------------------------------------
 * Set-up.
 */
static void usage(const char *why)
{
	if (why)
		fprintf(stderr, "probe: %s\n", why);
	fprintf(stderr,
		"usage: probe (--mode perm|noperm | --no-amx) [--seed N] [--sequences N] [--runs N]\n"
		"             [--out FILE] [--no-targeted] [--only NAME] [--plan]\n");
	exit(2);
}

static void read_cpu(void)
{
	uint32_t r[4];
	cpuid(0, 0, r);
	uint32_t maxleaf = r[0];
	cpuid(1, 0, r);
	if (!(r[2] >> 27 & 1) || maxleaf < 0xd) {
		fprintf(stderr, "probe: XSAVE is not enabled by the OS (CPUID.1:ECX.OSXSAVE = 0)\n");
		exit(2);
	}
	g_xcr0 = xgetbv(0);
	for (uint32_t i = 0; i < 20; i++)
		cpuid(0xd, i, g_cpuid0d[i]);
	g_has_xgetbv1 = g_cpuid0d[1][0] >> 2 & 1;
	if (!(g_cpuid0d[1][0] & 1) || !(g_cpuid0d[1][0] >> 1 & 1)) {
		fprintf(stderr, "probe: this CPU lacks XSAVEOPT or XSAVEC\n");
		exit(2);
	}
	g_has_avx = (g_xcr0 & 0x6) == 0x6;
	g_has_avx512 = (g_xcr0 & 0xe6) == 0xe6;
	cpuid(7, 0, r);
	g_has_amx = (r[3] >> 24 & 1) && (g_xcr0 & 0x60000) == 0x60000;
	g_size_std = g_cpuid0d[0][1];
	if (g_size_std > AREA_SIZE) {
		fprintf(stderr, "probe: the XSAVE area for XCR0 %" PRIx64 " is %u bytes, more than %d\n",
			g_xcr0, g_size_std, AREA_SIZE);
		exit(2);
	}
}

/* Offsets: standard from CPUID.(0DH,i).EBX; compacted for XCOMP_BV = XCR0, 64-byte aligned where
 * CPUID.(0DH,i).ECX[1] says so (SDM Vol. 1, 13.4.3). */
static void compute_offsets(void)
{
	unsigned off = 576;
	for (unsigned i = 2; i < 20; i++) {
		g_std_off[i] = g_cpuid0d[i][1];
		g_cmp_off[i] = 0;
		if (!(g_xcr0 >> i & 1))
			continue;
		if (g_cpuid0d[i][2] >> 1 & 1)
			off = (off + 63) & ~63u;
		g_cmp_off[i] = off;
		off += g_cpuid0d[i][0];
	}
}

/* --plan on a CPU without AMX: the CPUID.(0DH) table and XCR0 of the AMX machine the reference
 * logs come from (Sapphire Rapids class, XCR0 600E7H), so that the tile sequences can be
 * generated and checked anywhere. */
static void pretend_amx_cpu(void)
{
	static const uint32_t spr[20][4] = {
		{ 393447, 11008, 11008, 0 }, { 31, 10688, 0, 0 }, { 256, 576, 0, 0 }, { 0 }, { 0 },
		{ 64, 1088, 0, 0 }, { 512, 1152, 0, 0 }, { 1024, 1664, 0, 0 }, { 0 }, { 0 }, { 0 }, { 0 },
		{ 0 }, { 0 }, { 0 }, { 0 }, { 0 }, { 64, 2752, 2, 0 }, { 8192, 2816, 6, 0 }, { 0 },
	};
	memcpy(g_cpuid0d, spr, sizeof spr);
	g_xcr0 = 0x600e7;
	g_has_xgetbv1 = g_has_avx = g_has_avx512 = g_has_amx = 1;
}

static void pin_cpu(void)
{
	int cpu = sched_getcpu();
	cpu_set_t set;
	CPU_ZERO(&set);
	CPU_SET(cpu < 0 ? 0 : cpu, &set);
	if (sched_setaffinity(0, sizeof set, &set) != 0)
		fprintf(stderr, "probe: sched_setaffinity: %s (continuing unpinned)\n", strerror(errno));
}

static void install_handlers(void)
{
	static const int sigs[] = { SIGILL, SIGSEGV, SIGFPE, SIGBUS };
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_sigaction = on_signal;
	sa.sa_flags = SA_SIGINFO;
	sigemptyset(&sa.sa_mask);
	for (unsigned i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
		if (sigaction(sigs[i], &sa, NULL) != 0) {
			perror("probe: sigaction");
			exit(1);
		}
}

/* Run a few ops outside any sequence (set-up), returning the first signal seen. */
static int setup_ops(const struct seq *s)
{
	int sig = 0;
	for (int i = 0; i < s->n; i++) {
		exec_op(&s->ops[i], &g_res[i], g_snap[i]);
		if (g_res[i].sig && !sig)
			sig = g_res[i].sig;
	}
	return sig;
}

static struct seq g_seq;

/* --plan: the sequences this seed gives, without running them (op records without observations). */
static int write_plan(uint64_t seed, long nseq, int no_targeted, const char *only)
{
	struct rng g = { seed };
	struct rng tg = { seed ^ 0x7461726765746564ULL };
	rand_bytes(&g, g_tilesrc, sizeof g_tilesrc);
	fprintf(g_out, "{\"k\":\"hdr\",\"mode\":\"%s\",\"plan\":true,\"seed\":\"%" PRIu64 "\",\"xcr0\":\"%" PRIx64 "\"}\n",
		g_mode, seed, g_xcr0);
	size_t ntargeted = no_targeted ? 0 : sizeof targeted / sizeof targeted[0];
	int seqno = 0;
	for (size_t k = 0; k < ntargeted + (size_t)nseq; k++) {
		if (k < ntargeted) {
			if (!targeted[k](&g_seq, &tg) || (only && strcmp(only, g_seq.name)))
				continue;
		} else {
			if (only && strcmp(only, "random"))
				break;
			gen_random(&g, &g_seq);
		}
		if (g_seq_full) {
			fprintf(stderr, "probe: sequence '%s' exceeds %d operations\n", g_seq.name, MAXOPS);
			return 1;
		}
		fprintf(g_out, "{\"k\":\"run\",\"seq\":%d,\"name\":\"%s\",\"run\":0,\"csw\":0,\"nops\":%d}\n",
			seqno, g_seq.name, g_seq.n);
		for (int i = 0; i < g_seq.n; i++) {
			const struct op *o = &g_seq.ops[i];
			if (o->t == OP_POKE && (unsigned)o->off + o->len > AREA_SIZE) {
				fprintf(stderr, "probe: POKE outside the area in '%s'\n", g_seq.name);
				return 1;
			}
			fprintf(g_out, "{\"k\":\"op\",\"seq\":%d,\"run\":0,\"i\":%d,\"t\":\"%s\",\"reg\":%u,\"area\":%u,"
				"\"off\":%u,\"len\":%u,\"fill\":%u,\"rfbm\":\"%" PRIx64 "\",\"data\":\"",
				seqno, i, op_names[o->t], o->reg, o->area, o->off, o->len, o->fill, o->rfbm);
			put_hex(o->data, 64);
			fputs("\"}\n", g_out);
		}
		seqno++;
	}
	return fflush(g_out) ? 1 : 0;
}

int main(int argc, char **argv)
{
	const char *mode = NULL, *out = NULL, *only = NULL;
	uint64_t seed = 1;
	long nseq = 100, runs = 3;
	int no_targeted = 0, plan = 0;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (!strcmp(a, "--no-amx")) { g_noamx = 1; continue; }
		if (!strcmp(a, "--no-targeted")) { no_targeted = 1; continue; }
		if (!strcmp(a, "--plan")) { plan = 1; continue; }
		if (!strcmp(a, "--help") || !strcmp(a, "-h")) usage(NULL);
		if (!v) usage("missing value");
		char *end;
		if (!strcmp(a, "--mode")) mode = v;
		else if (!strcmp(a, "--out")) out = v;
		else if (!strcmp(a, "--only")) only = v;
		else if (!strcmp(a, "--seed")) {
			errno = 0;
			int hex = v[0] == '0' && (v[1] == 'x' || v[1] == 'X');
			seed = strtoull(v, &end, hex ? 16 : 10);
			if (*end || errno) usage("bad --seed");
		} else if (!strcmp(a, "--sequences")) {
			nseq = strtol(v, &end, 10);
			if (*end || nseq < 0) usage("bad --sequences");
		} else if (!strcmp(a, "--runs")) {
			runs = strtol(v, &end, 10);
			if (*end || runs < 1 || runs > 100) usage("bad --runs");
		} else usage("unknown option");
		i++;
	}
	if (g_noamx) {
		if (mode && strcmp(mode, "noamx"))
			usage("--no-amx and --mode perm|noperm exclude each other");
		g_mode = "noamx";
	} else {
		if (!mode) usage("give --mode perm|noperm, or --no-amx");
		if (strcmp(mode, "perm") && strcmp(mode, "noperm")) usage("--mode is perm or noperm");
		g_mode = mode;
	}

	read_cpu();
	if (plan && !g_noamx && !g_has_amx)
		pretend_amx_cpu();
	compute_offsets();
	if (!g_noamx && !g_has_amx) {
		fprintf(stderr, "probe: this CPU has no usable AMX-TILE (CPUID.(07H,0):EDX[24] = 0 or XCR0[18:17]"
			" not enabled; XCR0 = %" PRIx64 "): the tile operations cannot run. Use --no-amx.\n", g_xcr0);
		return 2;
	}
	if (!g_has_avx512)
		fprintf(stderr, "probe: AVX-512 state not enabled (XCR0 %" PRIx64 "): VMOVZ/KMOV are left out\n", g_xcr0);

	g_out = out ? fopen(out, "w") : stdout;
	if (!g_out) {
		perror(out);
		return 1;
	}
	if (plan)
		return write_plan(seed, nseq, no_targeted, only);
	pin_cpu();
	install_handlers();
	(void)csw_now();	/* binds getrusage before any run */

	long prctl_rc = 0;
	uint64_t perm = 0, supp = 0;
	if (!g_noamx) {
		syscall(SYS_arch_prctl, ARCH_GET_XCOMP_SUPP, &supp);
		if (!strcmp(g_mode, "perm")) {
			/* The kernel's permission request (arch_prctl(ARCH_REQ_XCOMP_PERM), Linux
			 * Documentation/arch/x86/xstate.rst); the first tile use after it takes the XFD
			 * #NM that the kernel handles by clearing IA32_XFD[18] for this task. */
			prctl_rc = syscall(SYS_arch_prctl, ARCH_REQ_XCOMP_PERM, XFEATURE_XTILEDATA);
			if (prctl_rc != 0) {
				fprintf(stderr, "probe: ARCH_REQ_XCOMP_PERM(18) failed: %s\n", strerror(errno));
				return 1;
			}
			uint8_t c[64];
			seq_begin(&g_seq, "setup");
			g_seq.n = 1;	/* only the XRSTOR of area 2; the areas are filled below */
			memset(g_area[2], 0, AREA_SIZE);
			copy_bytes(g_area[2], sane_legacy, 32);
			tilecfg_valid(c, 8, 16, 64);
			op_ldtilecfg(&g_seq, c);
			op_reg(&g_seq, OP_TILEZERO, 0, NULL, 0);
			op_simple(&g_seq, OP_TILERELEASE);
			int sig = setup_ops(&g_seq);
			if (sig) {
				fprintf(stderr, "probe: the first tile use raised signal %d: permission not effective\n", sig);
				return 1;
			}
		}
		syscall(SYS_arch_prctl, ARCH_GET_XCOMP_PERM, &perm);
	}

	/* Area 2: the all-init image (legacy region FCW 037FH, MXCSR 1F80H, zero header). */
	memset(g_area[2], 0, AREA_SIZE);
	memcpy(g_area[2], sane_legacy, 32);

	/* Learn the FLD instruction's address (FIP) before the header is written. */
	{
		seq_begin(&g_seq, "setup");
		g_seq.n = 1;
		op_reg(&g_seq, OP_FLD, 0, zeros64, 10);
		op_simple(&g_seq, OP_FNINIT);
		setup_ops(&g_seq);
	}

	struct rng g = { seed };
	struct rng tg = { seed ^ 0x7461726765746564ULL };
	rand_bytes(&g, g_tilesrc, sizeof g_tilesrc);

	fprintf(g_out, "{\"k\":\"hdr\",\"mode\":\"%s\",\"prctl\":%ld,\"seed\":\"%" PRIu64 "\",\"cpuid_0d\":[",
		g_mode, prctl_rc, seed);
	for (int i = 0; i < 20; i++)
		fprintf(g_out, "%s[%u,%u,%u,%u]", i ? "," : "", g_cpuid0d[i][0], g_cpuid0d[i][1],
			g_cpuid0d[i][2], g_cpuid0d[i][3]);
	fputs("],\"tilesrc\":\"", g_out);
	put_hex(g_tilesrc, sizeof g_tilesrc);
	fprintf(g_out, "\",\"xcr0\":\"%" PRIx64 "\",\"xcomp_supp\":\"%" PRIx64 "\",\"xcomp_perm\":\"%" PRIx64
		"\",\"xgetbv1\":%s,\"hash\":\"fnv1a64\",\"fld_ip\":\"%" PRIxPTR "\",\"fld_dp\":\"%" PRIxPTR
		"\",\"area_addr\":[\"%" PRIxPTR "\",\"%" PRIxPTR "\",\"%" PRIxPTR "\"],\"runs\":%ld",
		g_xcr0, supp, perm, g_has_xgetbv1 ? "true" : "false", (uintptr_t)g_fld_ip,
		(uintptr_t)g_opdata, (uintptr_t)g_area[0], (uintptr_t)g_area[1], (uintptr_t)g_area[2], runs);
	{
		/* CPUID.(07H,0) (FDP_EXCPTN_ONLY is EBX[6], FCS/FDS deprecation EBX[13]) and the brand
		 * string, so a log says which CPU it comes from. */
		uint32_t r7[4], b[12];
		char brand[49], *p = brand;
		cpuid(7, 0, r7);
		cpuid(0x80000000u, 0, b);
		brand[0] = 0;
		if (b[0] >= 0x80000004u) {
			for (uint32_t i = 0; i < 3; i++)
				cpuid(0x80000002u + i, 0, b + 4 * i);
			memcpy(brand, b, 48);
			brand[48] = 0;
		}
		while (*p == ' ')
			p++;
		for (char *q = p; *q; q++)
			if (*q == '"' || *q == '\\' || (unsigned char)*q < 0x20 || (unsigned char)*q > 0x7e)
				*q = '?';
		for (size_t n = strlen(p); n && p[n - 1] == ' '; n--)
			p[n - 1] = 0;
		fprintf(g_out, ",\"cpuid_07\":[%u,%u,%u,%u],\"cpu\":\"%s\"}\n", r7[0], r7[1], r7[2], r7[3], p);
	}

	int seqno = 0;
	size_t ntargeted = no_targeted ? 0 : sizeof targeted / sizeof targeted[0];
	for (size_t k = 0; k < ntargeted + (size_t)nseq; k++) {
		if (k < ntargeted) {
			if (!targeted[k](&g_seq, &tg))
				continue;
			if (only && strcmp(only, g_seq.name))
				continue;
		} else {
			if (only && strcmp(only, "random"))
				break;
			gen_random(&g, &g_seq);
		}
		if (g_seq_full) {
			fprintf(stderr, "probe: sequence '%s' exceeds %d operations\n", g_seq.name, MAXOPS);
			return 1;
		}
		for (int run = 0; run < runs; run++) {
			long csw = run_seq(&g_seq);
			write_run(&g_seq, seqno, run, csw);
		}
		seqno++;
	}
	if (fflush(g_out) != 0 || (out && fclose(g_out) != 0)) {
		perror("probe: write");
		return 1;
	}
	return 0;
}
