"""Sign-in rate limits and temporary lockouts, per account name and per client address.

Guessing a password must be slow however it is spread out: one address trying many
names is held back by the address limit, many addresses trying one name by the account
limit. A name (as typed, compared case-folded) may fail ``max_failures`` times within
``window`` seconds, an address ``max_address_failures`` times (more, because in a TRE
several checkers often reach the page from one address); the next failure locks the
name or the address for ``lockout`` seconds, during which every attempt is refused
*without checking the password*, so even the right one does not get through (and a
guesser learns nothing). Besides, an address may make at most ``max_attempts``
attempts, right or wrong, per ``window``. A successful sign-in clears the account's
failures, not the address's.

Unknown names are counted exactly like enrolled ones, so a lockout does not reveal who
is enrolled. Refused attempts are reported for the sign-in log at most once per
``refusal_log_interval`` seconds per address (``Verdict.log``, with the number refused
since), so hammering the page cannot fill the disk. State lives in server memory and
starts empty when the server starts; a server behind a proxy sees the proxy's address,
so the address limit then applies to everyone at once (the account limit still holds).
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

__all__ = ["SignInLimits", "SignInThrottle", "Verdict"]


@dataclass(frozen=True)
class SignInLimits:
    """The limits; the defaults allow a person a few typos and a guesser very little."""

    max_failures: int = 5  # per account name
    max_address_failures: int = 20
    window: float = 15 * 60.0
    lockout: float = 15 * 60.0
    max_attempts: int = 30
    refusal_log_interval: float = 60.0
    max_keys: int = 100_000  # memory bound: the oldest keys are forgotten first


@dataclass(frozen=True)
class Verdict:
    """Whether an attempt may go ahead, and if not, for how long it is held back."""

    allowed: bool
    retry_after: float = 0.0
    reason: str = ""
    log: bool = True  # a refusal worth a line in the sign-in log
    refused: int = 0  # attempts refused from this address since the last logged one


@dataclass
class _Record:
    failures: deque[float] = field(default_factory=deque)
    attempts: deque[float] = field(default_factory=deque)
    locked_until: float = 0.0
    refused: int = 0
    refusal_logged: float = float("-inf")


class SignInThrottle:
    """Counts attempts and failures in memory; ``clock`` is injectable for tests."""

    def __init__(
        self,
        limits: SignInLimits | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.limits = limits or SignInLimits()
        self._clock = clock
        self._records: dict[str, _Record] = {}

    @staticmethod
    def _keys(name: str, address: str) -> tuple[str, str]:
        return f"account:{name.strip().casefold()}", f"address:{address}"

    def _record(self, key: str, now: float) -> _Record:
        record = self._records.pop(key, None) or _Record()
        self._records[key] = record  # most recently used last
        while len(self._records) > self.limits.max_keys:
            del self._records[next(iter(self._records))]
        for times in (record.failures, record.attempts):
            while times and times[0] <= now - self.limits.window:
                times.popleft()
        return record

    def check(self, name: str, address: str) -> Verdict:
        """Whether an attempt for ``name`` from ``address`` may be checked now; counts it."""
        now = self._clock()
        account_key, address_key = self._keys(name, address)
        account, client = self._record(account_key, now), self._record(address_key, now)
        locked = max(account.locked_until, client.locked_until)
        if locked > now:
            which = "account" if account.locked_until >= client.locked_until else "address"
            return self._refuse(client, now, locked - now, f"{which} locked")
        client.attempts.append(now)
        if len(client.attempts) > self.limits.max_attempts:
            retry = client.attempts[0] + self.limits.window - now
            return self._refuse(client, now, max(retry, 1.0), "address rate limit")
        return Verdict(True)

    def _refuse(self, client: _Record, now: float, retry_after: float, reason: str) -> Verdict:
        client.refused += 1
        if now - client.refusal_logged < self.limits.refusal_log_interval:
            return Verdict(False, retry_after, reason, log=False)
        refused, client.refused, client.refusal_logged = client.refused, 0, now
        return Verdict(False, retry_after, reason, log=True, refused=refused)

    def failed(self, name: str, address: str) -> bool:
        """Count a wrong name or password; True if this failure locked something."""
        now = self._clock()
        locked = False
        account_key, address_key = self._keys(name, address)
        limits = {
            account_key: self.limits.max_failures,
            address_key: self.limits.max_address_failures,
        }
        for key, limit in limits.items():
            record = self._record(key, now)
            record.failures.append(now)
            if len(record.failures) > limit:
                record.locked_until = now + self.limits.lockout
                record.failures.clear()
                locked = True
        return locked

    def succeeded(self, name: str, address: str) -> None:
        """A right password clears the account's failures (the address keeps its own)."""
        self._records.pop(self._keys(name, address)[0], None)
