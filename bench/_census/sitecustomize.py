"""An object census of `hotline serve`, for bench_load.py --census (never imported by hotline).

On PYTHONPATH of the serve process only, with HOTLINE_BENCH_CENSUS=<folder>: on SIGUSR1 it
runs a full garbage collection and writes census-<n>.json to the folder: the objects the
collector tracks, counted by type, and the length of every dict, list, set and deque with
more than 500 items (by id, so the same container can be followed from census to census).
What grows per call between two censuses is what serve keeps per call. The census pauses
the event loop (a fraction of a second): the minutes it falls in are not latency figures.
"""

import os
import signal
import sys

_FOLDER = os.environ.get("HOTLINE_BENCH_CENSUS")


def _shape(o: object) -> str:
    """What kind of dict or list this is: a dict by its first keys, a list by its first item's type."""
    if isinstance(o, dict):
        keys = [k for k in list(o)[:5] if isinstance(k, str)]
        return f"dict{{{','.join(keys)}{',…' if len(o) > 5 else ''}}}" if keys else f"dict of {len(o)} non-str keys"
    items = list(o)  # type: ignore[call-overload]
    return f"list[{type(items[0]).__qualname__}]" if items else "list (empty)"


def _census(_signum: int, _frame: object) -> None:
    import collections
    import gc
    import json

    _census.taken += 1  # type: ignore[attr-defined]
    gc.collect()
    objects = gc.get_objects()
    counts = collections.Counter(f"{type(o).__module__}.{type(o).__qualname__}" for o in objects)
    big = {str(id(o)): f"{type(o).__name__}:{len(o)}" for o in objects
           if isinstance(o, dict | list | set | collections.deque) and len(o) > 500}
    path = os.path.join(str(_FOLDER), f"census-{_census.taken}.json")  # type: ignore[attr-defined]
    shapes = collections.Counter(_shape(o) for o in objects if type(o) in (dict, list))
    with open(path + ".part", "w") as f:
        json.dump({"counts": counts, "big": big, "shapes": shapes}, f)
    os.replace(path + ".part", path)  # whole or not at all for the bench reading it


if _FOLDER and "serve" in sys.orig_argv and "-c" not in sys.orig_argv:  # serve, not its worker processes
    _census.taken = 0  # type: ignore[attr-defined]
    signal.signal(signal.SIGUSR1, _census)
