// The private extension gamesolve._cpuid: which x86-64 micro-architecture levels
// this CPU and OS support, read from CPUID and XCR0. Compiled for the baseline
// target (no -march), plain Python C API, so it loads on any CPU; gamesolve/_cpu.py
// uses it to import the fastest gamesolve._core_v* the CPU can run.
//
// The levels are those of the x86-64 psABI (the -march=x86-64-v3/-v4 of GCC/Clang):
//   x86-64-v3 = v2 (SSE3, SSSE3, SSE4.1/4.2, POPCNT, CMPXCHG16B, LAHF) + AVX, AVX2,
//               BMI1, BMI2, F16C, FMA, LZCNT, MOVBE, XSAVE, with the OS saving YMM state;
//   x86-64-v4 = v3 + AVX512F, AVX512BW, AVX512CD, AVX512DQ, AVX512VL, with the OS
//               saving opmask and ZMM state.
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <cstdint>
#include <initializer_list>

#if defined(__x86_64__) || defined(_M_X64)
#define GAMESOLVE_X86_64 1
#if defined(_MSC_VER)
#include <immintrin.h>
#include <intrin.h>
#else
#include <cpuid.h>
#endif
#endif

namespace {

#ifdef GAMESOLVE_X86_64
struct Regs {
  std::uint32_t eax = 0, ebx = 0, ecx = 0, edx = 0;
};

Regs cpuid(std::uint32_t leaf, std::uint32_t subleaf = 0) {
  Regs r;
#if defined(_MSC_VER)
  int v[4];
  __cpuidex(v, static_cast<int>(leaf), static_cast<int>(subleaf));
  r = {static_cast<std::uint32_t>(v[0]), static_cast<std::uint32_t>(v[1]), static_cast<std::uint32_t>(v[2]),
       static_cast<std::uint32_t>(v[3])};
#else
  if (leaf > __get_cpuid_max(leaf & 0x80000000u, nullptr)) return r;  // leaf not implemented: no features
  __cpuid_count(leaf, subleaf, r.eax, r.ebx, r.ecx, r.edx);
#endif
  return r;
}

std::uint64_t xcr0() {
#if defined(_MSC_VER)
  return _xgetbv(0);
#else
  std::uint32_t lo = 0, hi = 0;
  __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));  // only called when OSXSAVE is set
  return (static_cast<std::uint64_t>(hi) << 32) | lo;
#endif
}

bool all_bits(std::uint32_t reg, std::initializer_list<int> bits) {
  for (int b : bits)
    if (!((reg >> b) & 1u)) return false;
  return true;
}

// 0: baseline only, 3: x86-64-v3, 4: x86-64-v4 (v2 alone does not matter to gamesolve).
int x86_level() {
  const Regs l1 = cpuid(1), l7 = cpuid(7, 0), e1 = cpuid(0x80000001u);
  // leaf 1 ECX: SSE3 0, SSSE3 9, FMA 12, CX16 13, SSE4.1 19, SSE4.2 20, MOVBE 22, POPCNT 23,
  // XSAVE 26, OSXSAVE 27, AVX 28, F16C 29; leaf 0x80000001 ECX: LAHF 0, LZCNT 5;
  // leaf 7 EBX: BMI1 3, AVX2 5, BMI2 8.
  const bool v3_cpu = all_bits(l1.ecx, {0, 9, 12, 13, 19, 20, 22, 23, 26, 27, 28, 29}) &&
                      all_bits(e1.ecx, {0, 5}) && all_bits(l7.ebx, {3, 5, 8});
  if (!v3_cpu) return 0;
  const std::uint64_t os = xcr0();
  if ((os & 0x6u) != 0x6u) return 0;  // XMM and YMM state
  // leaf 7 EBX: AVX512F 16, AVX512DQ 17, AVX512CD 28, AVX512BW 30, AVX512VL 31;
  // XCR0: opmask 5, ZMM_Hi256 6, Hi16_ZMM 7.
  const bool v4 = all_bits(l7.ebx, {16, 17, 28, 30, 31}) && (os & 0xE6u) == 0xE6u;
  return v4 ? 4 : 3;
}
#endif

PyObject* supported_levels(PyObject*, PyObject*) {
#ifdef GAMESOLVE_X86_64
  const int level = x86_level();
  if (level >= 4) return Py_BuildValue("(sss)", "baseline", "avx2", "avx512");
  if (level >= 3) return Py_BuildValue("(ss)", "baseline", "avx2");
#endif
  return Py_BuildValue("(s)", "baseline");
}

PyMethodDef methods[] = {
    {"supported_levels", supported_levels, METH_NOARGS,
     "supported_levels() -> tuple of str\n\nThe gamesolve ISA levels this CPU and OS can run, in "
     "increasing order: 'baseline' always, 'avx2' (x86-64-v3), 'avx512' (x86-64-v4)."},
    {nullptr, nullptr, 0, nullptr}};

PyModuleDef module = {PyModuleDef_HEAD_INIT, "_cpuid",
                      "gamesolve private CPU probe (x86-64 micro-architecture levels)", -1, methods,
                      nullptr, nullptr, nullptr, nullptr};

}  // namespace

PyMODINIT_FUNC PyInit__cpuid() { return PyModule_Create(&module); }
