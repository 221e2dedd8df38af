"""Make file permissions bite in a test subprocess, even when the tests run as root.

Root ignores permission bits (CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH), so `chmod 000`
alone proves nothing in CI, which runs as root. `permissions_apply` is a `preexec_fn`
that drops those two capabilities from the child's bounding set before it executes
`qa`: the child is still root and owns the test's files, but reads and writes are
checked against their mode bits like anyone's.
"""

from __future__ import annotations

import ctypes
import os
from collections.abc import Callable

_PR_CAPBSET_DROP = 24
_CAP_DAC_OVERRIDE, _CAP_DAC_READ_SEARCH = 1, 2


def _drop_override() -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    for capability in (_CAP_DAC_OVERRIDE, _CAP_DAC_READ_SEARCH):
        if libc.prctl(_PR_CAPBSET_DROP, capability, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP)")


def permissions_apply() -> Callable[[], None] | None:
    """A preexec_fn for subprocess.run that makes mode bits apply to the child."""
    return _drop_override if os.geteuid() == 0 else None
