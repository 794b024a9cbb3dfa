"""Which compiled core this process runs: the ISA level of ``gamesolve._core``.

A build compiles the C++ core and its bindings once per instruction-set level
(on x86-64; elsewhere only the baseline), as private extension modules:

==========  ===============  ==================================================
level       module           compiled for
==========  ===============  ==================================================
baseline    ``_core_v1``     the compiler's default target (x86-64: SSE2)
avx2        ``_core_v3``     x86-64-v3 (AVX, AVX2, FMA, BMI1/2, F16C, ...)
avx512      ``_core_v4``     x86-64-v4 (AVX-512 F/BW/CD/DQ/VL, 512-bit vectors)
native      ``_core_native`` the build machine (``-DGAMESOLVE_NATIVE=ON`` only)
==========  ===============  ==================================================

At import, :func:`load_core` asks the baseline-compiled probe ``_cpuid``
(CPUID and the OS-enabled register state, XCR0) which levels this CPU runs and
imports the best one that was built; ``gamesolve._core`` is that module. The
environment variable ``GAMESOLVE_ISA`` (``baseline``, ``avx2``, ``avx512`` or
``native``) forces a level, e.g. to compare levels; a level the CPU cannot run
is refused with an ImportError, never executed.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
from dataclasses import dataclass
from types import ModuleType

__all__ = ["CpuInfo", "cpu_info"]

ENV_VAR = "GAMESOLVE_ISA"

# level -> (extension module, what it needs), in increasing order of preference.
LEVELS = {
    "baseline": ("_core_v1", "any CPU of the build's architecture"),
    "avx2": ("_core_v3", "an x86-64-v3 CPU (AVX2, FMA)"),
    "avx512": ("_core_v4", "an x86-64-v4 CPU (AVX-512 F/BW/CD/DQ/VL)"),
    "native": ("_core_native", "the machine it was built on"),
}


@dataclass(frozen=True)
class CpuInfo:
    """The ISA level of the compiled core this process uses.

    Attributes
    ----------
    level : str
        The level in use: ``"baseline"``, ``"avx2"``, ``"avx512"`` or ``"native"``.
    module : str
        The extension module behind ``gamesolve._core`` (e.g. ``"gamesolve._core_v4"``).
    supported : tuple of str
        The levels this CPU runs (``"native"`` is not probed and not listed).
    built : tuple of str
        The levels this installation contains.
    forced : bool
        True when ``GAMESOLVE_ISA`` chose the level.
    """

    level: str
    module: str
    supported: tuple[str, ...]
    built: tuple[str, ...]
    forced: bool


_info: CpuInfo | None = None


def _module_name(level: str) -> str:
    return f"{__package__}.{LEVELS[level][0]}"


def built_levels() -> tuple[str, ...]:
    """The levels whose extension module is present, in increasing order."""
    return tuple(lv for lv in LEVELS if importlib.util.find_spec(_module_name(lv)) is not None)


def supported_levels() -> tuple[str, ...]:
    """The levels (other than ``native``) this CPU and OS run, from the ``_cpuid`` probe."""
    from . import _cpuid

    return tuple(_cpuid.supported_levels())


def choose_level(requested: str | None, built: tuple[str, ...], supported: tuple[str, ...]) -> str:
    """The level to import: ``requested`` (validated) or the best built level the CPU runs.

    Raises
    ------
    ImportError
        ``requested`` is not a level name, was not built, or needs a CPU feature this
        CPU lacks; or no built level runs on this CPU.
    """
    if requested is not None:
        if requested not in LEVELS:
            raise ImportError(f"{ENV_VAR}={requested!r} is not one of {', '.join(LEVELS)} "
                              f"(unset it to use the best level this CPU supports)")
        if requested not in built:
            raise ImportError(f"{ENV_VAR}={requested!r}: this gamesolve build has no {requested} core "
                              f"(built: {', '.join(built) or 'none'})")
        if requested != "native" and requested not in supported:
            raise ImportError(f"{ENV_VAR}={requested!r} needs {LEVELS[requested][1]}; this CPU supports "
                              f"{', '.join(supported)}")
        return requested
    if "native" in built:  # a developer build for this machine (GAMESOLVE_NATIVE=ON)
        return "native"
    usable = [lv for lv in built if lv in supported]
    if not usable:
        raise ImportError(f"gamesolve: no compiled core runs on this CPU (built: {', '.join(built) or 'none'}; "
                          f"this CPU supports: {', '.join(supported)}); rebuild from source")
    return usable[-1]


def load_core() -> ModuleType:
    """Import and return the extension module of the chosen level (see the module docstring)."""
    global _info
    requested = os.environ.get(ENV_VAR) or None
    built = built_levels()
    supported = supported_levels()
    level = choose_level(requested, built, supported)
    module = importlib.import_module(_module_name(level))
    _info = CpuInfo(level=level, module=module.__name__, supported=supported, built=built,
                    forced=requested is not None)
    return module


def cpu_info() -> CpuInfo:
    """The instruction-set level of the compiled core in use, and why it was chosen.

    gamesolve compiles its C++ core for several x86-64 levels (baseline, AVX2,
    AVX-512) and imports the best one this CPU supports; the environment
    variable ``GAMESOLVE_ISA`` (``baseline``, ``avx2``, ``avx512``), read at import,
    forces one.

    Returns
    -------
    CpuInfo
        ``.level`` in use, its ``.module``, the levels the CPU ``.supported``, the
        levels ``.built``, and whether the level was ``.forced``.

    Examples
    --------
    >>> import gamesolve
    >>> info = gamesolve.cpu_info()
    >>> info.level in info.built
    True
    """
    from . import _core  # noqa: F401  (loads the core, which records the choice)

    assert _info is not None
    return _info
