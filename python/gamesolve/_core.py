"""gamesolve._core: the compiled core built for the best ISA level this CPU runs.

This module replaces itself, in ``sys.modules``, by the extension module
:func:`gamesolve._cpu.load_core` imports (``_core_v1``, ``_core_v3``,
``_core_v4`` or ``_core_native``), so ``from . import _core`` and
``from gamesolve import _core`` give that extension module itself. See
``_cpu.py`` for the levels and the ``GAMESOLVE_ISA`` override; the
extension's interface is described by ``_core.pyi``.
"""

import sys

from ._cpu import load_core

sys.modules[__name__] = load_core()
