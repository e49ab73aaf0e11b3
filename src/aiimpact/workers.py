"""Worker processes that start without re-running the caller's script.

multiprocessing's ``spawn`` and ``forkserver`` children import the parent's main module
again (as ``__mp_main__``) before they run anything. A notebook has none, and a script
guarded by ``if __name__ == "__main__":`` runs nothing when imported; but a plain script
(``for c in ai.Repo(p).quality()...`` at top level, as people write them) would run again
in every worker, which starts workers of its own and fails with "An attempt has been made
to start a new process before the current process has finished its bootstrapping phase".
aiimpact's workers run only aiimpact's functions: they need nothing from that script.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager

_HIDDEN = ("__file__", "__spec__")


@contextmanager
def main_script_hidden() -> Iterator[None]:
    """While worker processes start (wrap the calls that start them: ``submit`` of a
    :class:`~concurrent.futures.ProcessPoolExecutor`, which starts its workers on demand),
    ``__main__`` shows neither a file nor a module spec, as in an interactive session, so
    the workers do not import it.

    Examples
    --------
    >>> with main_script_hidden():  # doctest: +SKIP
    ...     future = pool.submit(work, item)
    """
    main = sys.modules.get("__main__")
    if main is None:
        yield
        return
    saved = {k: main.__dict__[k] for k in _HIDDEN if k in main.__dict__}
    main.__dict__.pop("__file__", None)
    main.__dict__["__spec__"] = None
    try:
        yield
    finally:
        main.__dict__.pop("__spec__", None)
        main.__dict__.update(saved)
