// Minimal assertion harness for the C++ tests (no external test framework).
#pragma once
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string>

namespace gscheck {
inline int& failures() { static int f = 0; return f; }
inline int& passes() { static int p = 0; return p; }
inline void report(bool ok, const char* expr, const char* file, int line, const std::string& extra = "") {
  if (ok) { ++passes(); return; }
  ++failures();
  std::fprintf(stderr, "%s:%d: CHECK failed: %s %s\n", file, line, expr, extra.c_str());
}
inline int finish(const char* name) {
  std::printf("%s: %d passed, %d failed\n", name, passes(), failures());
  return failures() == 0 ? 0 : 1;
}
}  // namespace gscheck

#define CHECK(cond) ::gscheck::report(static_cast<bool>(cond), #cond, __FILE__, __LINE__)
#define CHECK_NEAR(a, b, tol)                                                                     \
  do {                                                                                            \
    const double _a = (a), _b = (b);                                                              \
    ::gscheck::report(std::fabs(_a - _b) <= (tol), #a " ~ " #b, __FILE__, __LINE__,              \
                      "(" + std::to_string(_a) + " vs " + std::to_string(_b) + ")");              \
  } while (0)
#define CHECK_THROWS(expr, Exc)                                                                   \
  do {                                                                                            \
    bool _thrown = false;                                                                         \
    try { expr; } catch (const Exc&) { _thrown = true; }                                         \
    ::gscheck::report(_thrown, "throws " #Exc ": " #expr, __FILE__, __LINE__);                    \
  } while (0)
