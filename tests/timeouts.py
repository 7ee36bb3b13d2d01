"""django-q2's worker time-out, for tests that need it to land.

Python ignores an exception raised in a finalizer (``__del__``): an alarm
that fires while one runs -- Django frees model instances by the thousand
in a harvest -- is lost, and the run goes on past its time-out. django-q2
lives with that (its guard kills the worker later); a test that checks what
the time-out does must see it raised, so here such an alarm comes again
10 ms later.
"""

from __future__ import annotations

import signal
from types import FrameType
from typing import Any

from django_q.timeout import TimeoutHandler


class WorkerTimeout(TimeoutHandler):
    """django-q2's ``TimeoutHandler``, never raising inside a finalizer."""

    def raise_timeout_exception(self, signum: int, frame: FrameType | None) -> Any:
        if frame is not None and frame.f_code.co_name == "__del__":
            signal.setitimer(signal.ITIMER_REAL, 0.01)
            return None
        return super().raise_timeout_exception(signum, frame)
