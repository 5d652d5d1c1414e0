"""microlab's optional C extension, ``microlab._speedups``, or None when it is not there.

It is built by ``pip install`` when the machine has a C compiler (``setup.py``), and
skipped when not. ``MICROLAB_PURE=1`` in the environment leaves it unused even when it
is built: the pure-Python path is the reference, and the tests run both. The kernel and
:mod:`microlab.hotpath` are its only users.
"""

from __future__ import annotations

import os


def load():
    """The extension module, or None if it is not built or ``MICROLAB_PURE`` is set."""
    if os.environ.get("MICROLAB_PURE", "") not in ("", "0"):
        return None
    try:
        from . import _speedups
    except ImportError:
        return None
    return _speedups


#: The extension, or None: decided once, at import. It is the one switch between the two
#: paths: :func:`microlab.hotpath.pure_python` sets it to None for a while, and the kernel
#: and :func:`microlab.hotpath.wire` read it when a run starts and a system is built.
speedups = load()
