"""A module-level lock for tests/test_pool.py (worker processes import this module by name)."""

import threading

LOCK = threading.Lock()


def double_under_lock(x: int) -> int:
    with LOCK:
        return 2 * x
