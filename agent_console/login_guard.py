"""One password check behind the login throttle and the password pools.

Layer: edge (async shell). Must not import routes. The throttle
(login_limits.LoginLimiter, pure) counts the attempt before the check; the
check runs on a password pool's own threads; the answer is one of 429
(throttled, with Retry-After, after HOTLINE_LOGIN_REFUSAL_DELAY_SECONDS), 503
(checks busy, at once), 401 (wrong) or the user. Everything on the event loop between "counted" and "allowed" happens
without an await, which is what makes the count atomic on an instance.

Two lanes: attempts from suspect addresses (several unsuccessful attempts
within the minute, `Attempt.suspect`) use one pool, all others the other,
HOTLINE_LOGIN_WORKERS split between them. A flood fills only its own lane, so
the real user still gets a check at once.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Callable
from typing import TypeVar

from fastapi import HTTPException

from agent_console.login_limits import LoginLimiter, LoginPolicy, Refused
from agent_console.password_pool import PasswordPool, PoolFull
from agent_console.settings import Settings

T = TypeVar("T")


class LoginGuard:
    def __init__(self, limiter: LoginLimiter, clean: PasswordPool, suspect: PasswordPool,
                 monotonic: Callable[[], float] = time.monotonic, refusal_delay: float = 0.0) -> None:
        self.limiter, self.clean, self.suspect, self._now = limiter, clean, suspect, monotonic
        self.refusal_delay = refusal_delay

    @classmethod
    def from_settings(cls, s: Settings) -> LoginGuard:
        policy = LoginPolicy(per_pair=s.login_rate_limit_per_minute, per_address=s.login_address_limit_per_minute,
                             free_failures=s.login_free_failures, backoff_max=s.login_backoff_max_seconds)
        clean = max(1, s.login_workers // 2)
        return cls(LoginLimiter(policy), PasswordPool(clean, s.login_queue),
                   PasswordPool(max(1, s.login_workers - clean), s.login_queue),
                   refusal_delay=s.login_refusal_delay_seconds)

    async def check(self, username: str, address: str, verify: Callable[[], T | None]) -> T:
        attempt = self.limiter.begin(username, address, self._now())
        if isinstance(attempt, Refused):
            # a throttled client hears so only after a pause: a script that sends its next
            # guess as soon as it has an answer (most do) is slowed to one try per pause,
            # and waiting costs the server nothing (no thread, no CPU)
            await asyncio.sleep(min(self.refusal_delay, attempt.retry_after))
            raise HTTPException(429, attempt.detail, headers={"Retry-After": str(math.ceil(attempt.retry_after))})
        try:
            found = await (self.suspect if attempt.suspect else self.clean).run(verify)
        except PoolFull as exc:
            self.limiter.cancel(attempt)  # never checked: it does not count
            raise HTTPException(503, str(exc), headers={"Retry-After": "1"}) from exc
        # any other end (an error, the client gone) leaves the attempt counted
        if found is None:
            self.limiter.failed(attempt)
            raise HTTPException(401, "wrong username or password")
        self.limiter.succeeded(attempt)
        return found

    def close(self) -> None:
        self.clean.close()
        self.suspect.close()
