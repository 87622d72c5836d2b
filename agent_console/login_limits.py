"""The login throttle: may this attempt go on to the password check?

Layer: pure state (no I/O, never reads the clock: every call takes `now`, a
monotonic count of seconds from the caller). Must not import FastAPI, tickets
or anything that does I/O.

Policy (OWASP ASVS 2.2.1 style: slow down guessing, never lock an account for
everyone, never lock out an office behind one NAT address):

- An attempt is counted when it BEGINS, in the same step that checks the
  limits, before the password is verified. So 100 simultaneous wrong logins
  for one username from one address get at most the limit past the gate and
  the rest are refused at once; a right password sent among them cannot slip
  through once the limit is used up. A success refunds its attempt; an attempt
  that never reached the password check (the check's queue was full) is
  refunded to the username and the (username, address) pair, but still counts
  for its address.
- Per (username, address): at most `per_pair` attempts a minute
  (HOTLINE_LOGIN_RATE_LIMIT_PER_MINUTE, 10). This is the strict limit.
- Per address, any username: at most `per_address` a minute
  (HOTLINE_LOGIN_ADDRESS_LIMIT_PER_MINUTE, 100): one address trying many
  usernames is slowed, an office behind one NAT address is not locked out.
- Per username, any address: consecutive failures are counted; after
  `free_failures` (5) every further attempt must wait 1, 2, 4, 8 ... s (at most
  `backoff_max`, 300 s) after the previous one. The backoff applies only to
  addresses that failed for this username during the streak (the latest
  `max_suspects`, 256), so the real user at another address is never refused
  because someone else hammered the name. The price, accepted: an attacker gets
  one more guess per address he has never used for the name; after that each
  of his addresses waits out the same growing backoff. A success resets the
  streak; so does `streak_memory` s without an attempt.
- Each attempt says whether its address is a suspect: at least `suspect_after`
  (3) attempts from it within the minute did not succeed, wrong or refused for
  want of a free password check. Such checks run in a lane of their own
  (login_guard), so a flood's addresses stop competing with everyone else's
  within seconds, while someone who mistyped once is not moved.
- Memory is bounded: counters expire after two windows, streaks after
  `streak_memory`, and each table holds at most `max_keys` entries (the least
  recently used go first; dropping one forgets a count, it never blocks).

Each instance counts on its own (scaled out, an attacker spreading over N
instances gets N times the budget; the backoff still grows on each).
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any, TypeVar

WINDOW = 60.0
K = TypeVar("K")


@dataclass(frozen=True, slots=True)
class LoginPolicy:
    per_pair: int = 10
    per_address: int = 100
    free_failures: int = 5
    backoff_base: float = 1.0
    backoff_max: float = 300.0
    max_suspects: int = 256
    suspect_after: int = 3
    streak_memory: float = 900.0
    max_keys: int = 50_000


@dataclass(frozen=True, slots=True)
class Attempt:
    """Counted and allowed to go on to the password check. `suspect`: its address
    already failed within the window (the check then waits in the suspects' lane)."""

    account: str
    address: str
    at: float
    suspect: bool = False
    new_for_account: bool = False  # its address had not failed for this username before


@dataclass(frozen=True, slots=True)
class Refused:
    detail: str
    retry_after: float


@dataclass(slots=True)
class _Count:
    """A sliding one-minute count from two fixed buckets: O(1) memory per key."""

    start: float
    current: int = 0
    previous: int = 0
    touched: float = 0.0

    def value(self, now: float) -> float:
        elapsed = now - self.start
        if elapsed >= 2 * WINDOW:
            self.start, self.current, self.previous = now, 0, 0
        elif elapsed >= WINDOW:
            self.start, self.current, self.previous = self.start + WINDOW, 0, self.current
        return self.current + self.previous * max(0.0, 1 - (now - self.start) / WINDOW)

    def add(self, at: float) -> None:
        self.current += 1
        self.touched = at

    def refund(self, at: float) -> None:
        if at >= self.start and self.current:
            self.current -= 1
        elif self.previous:
            self.previous -= 1

    def retry_after(self, now: float) -> float:
        return max(1.0, WINDOW - (now - self.start))


@dataclass(slots=True)
class _Streak:
    """Consecutive failures of one username, pending attempts included."""

    failures: int = 0
    last: float = 0.0
    suspects: OrderedDict[str, None] = field(default_factory=OrderedDict)  # addresses that failed, oldest first


class LoginLimiter:
    def __init__(self, policy: LoginPolicy) -> None:
        self.policy = policy
        self._pairs: OrderedDict[tuple[str, str], _Count] = OrderedDict()
        self._addresses: OrderedDict[str, _Count] = OrderedDict()
        self._streaks: OrderedDict[str, _Streak] = OrderedDict()

    def __len__(self) -> int:
        return len(self._pairs) + len(self._addresses) + len(self._streaks)

    def begin(self, account: str, address: str, now: float) -> Attempt | Refused:
        """Check every limit and, when none refuses, count the attempt: one step."""
        self._expire(now)
        account = account.lower()
        pair = self._pairs.get((account, address))
        if pair is not None and pair.value(now) >= self.policy.per_pair:
            return Refused("too many failed logins; wait a minute", pair.retry_after(now))
        per_address = self._addresses.get(address)
        if per_address is not None and per_address.value(now) >= self.policy.per_address:
            return Refused("too many failed logins from this address; wait a minute",
                           per_address.retry_after(now))
        streak = self._streaks.get(account)
        if streak is not None:
            wait = self._backoff(streak, address) - (now - streak.last)
            if wait > 0:
                return Refused(f"too many failed logins for this username; try again in {wait:.0f} s", wait)
        suspect = per_address is not None and per_address.value(now) >= self.policy.suspect_after
        new_for_account = streak is None or address not in streak.suspects
        self._count(account, address, now)
        return Attempt(account, address, now, suspect, new_for_account)

    def succeeded(self, attempt: Attempt) -> None:
        """The password was right: refund the attempt and end the username's streak."""
        self._refund(attempt)
        self._streaks.pop(attempt.account, None)

    def failed(self, attempt: Attempt) -> None:
        """Wrong: it was counted when it began; nothing more to do."""

    def cancel(self, attempt: Attempt) -> None:
        """It never reached the password check: not held against the username or the
        pair; still counted for the address (flooding the checks is not free)."""
        pair = self._pairs.get((attempt.account, attempt.address))
        if pair is not None:
            pair.refund(attempt.at)
        streak = self._streaks.get(attempt.account)
        if streak is not None and streak.failures:
            streak.failures -= 1
            if attempt.new_for_account:  # no wrong password from there after all
                streak.suspects.pop(attempt.address, None)

    def _backoff(self, streak: _Streak, address: str) -> float:
        p = self.policy
        if streak.failures < p.free_failures:
            return 0.0
        if address not in streak.suspects:
            return 0.0
        return float(min(p.backoff_max, p.backoff_base * 2 ** min(streak.failures - p.free_failures, 30)))

    def _count(self, account: str, address: str, now: float) -> None:
        _bump(self._pairs, (account, address), now)
        _bump(self._addresses, address, now)
        streak = self._streaks.get(account) or _Streak()
        streak.failures += 1
        streak.last = now
        streak.suspects[address] = None
        streak.suspects.move_to_end(address)
        if len(streak.suspects) > self.policy.max_suspects:
            streak.suspects.popitem(last=False)  # bounded: the oldest gets one more guess
        self._streaks[account] = streak
        self._streaks.move_to_end(account)
        self._cap()

    def _refund(self, attempt: Attempt) -> None:
        pair = self._pairs.get((attempt.account, attempt.address))
        if pair is not None:
            pair.refund(attempt.at)
        per_address = self._addresses.get(attempt.address)
        if per_address is not None:
            per_address.refund(attempt.at)

    def _expire(self, now: float) -> None:
        """Drop what can no longer refuse anything (tables are in last-use order)."""
        _expire_counts(self._pairs, now)
        _expire_counts(self._addresses, now)
        memory = max(self.policy.streak_memory, 2 * self.policy.backoff_max)
        while self._streaks:
            account, streak = next(iter(self._streaks.items()))
            if now - streak.last < memory:
                break
            del self._streaks[account]

    def _cap(self) -> None:
        tables: tuple[OrderedDict[Any, Any], ...] = (self._pairs, self._addresses, self._streaks)
        for table in tables:
            while len(table) > self.policy.max_keys:
                table.popitem(last=False)


def _bump(table: OrderedDict[K, _Count], key: K, now: float) -> None:
    count = table.get(key) or _Count(now)
    count.value(now)  # roll the buckets forward before adding
    count.add(now)
    table[key] = count
    table.move_to_end(key)


def _expire_counts(table: OrderedDict[K, _Count], now: float) -> None:
    while table:
        key, count = next(iter(table.items()))
        if now - count.touched < 2 * WINDOW:
            return
        del table[key]
