"""Web sign-in: rate limit and lockout per account and per address, every attempt in the
hash-chained sign-in log without the password (issue 14, finding 6)."""

from __future__ import annotations

import re
import warnings

from tests.tre_export.conftest import PASSWORD, run_cli
from tre_export.area import ExportArea
from tre_export.web.app import create_app
from tre_export.web.sign_in_log import read_sign_in_log, verify_sign_in_log
from tre_export.web.throttle import SignInLimits, SignInThrottle

with warnings.catch_warnings():
    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
    from starlette.testclient import TestClient

_CSRF = re.compile(r'name="csrf" value="([^"]+)"')


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _client(area: ExportArea, throttle: SignInThrottle | None = None) -> TestClient:
    app = create_app(area, throttle=throttle)
    return TestClient(app, base_url="http://127.0.0.1", follow_redirects=False)


def _attempt(client: TestClient, name: str, password: str) -> int:
    match = _CSRF.search(client.get("/login").text)
    assert match is not None
    data = {"csrf": match.group(1), "name": name, "password": password}
    return client.post("/login", data=data).status_code


def test_guessing_locks_the_account_and_the_right_password_waits(web_area: ExportArea) -> None:
    clock = Clock()
    client = _client(web_area, SignInThrottle(clock=clock))
    codes = [_attempt(client, "Carl", f"guess number {index:04d}") for index in range(30)]
    assert codes[:6] == [401] * 6  # five failures allowed, the sixth locks
    assert set(codes[6:]) == {429}  # held back without checking the password
    assert _attempt(client, "Carl", PASSWORD) == 429
    page = client.get("/login")
    assert page.status_code == 200
    clock.now += 15 * 60 + 1  # the lockout is temporary
    assert _attempt(client, "Carl", PASSWORD) == 303


def test_the_served_page_is_limited_by_default(web_area: ExportArea) -> None:
    """The hostile tester's run: many wrong passwords at once, then the right one."""
    client = TestClient(create_app(web_area), base_url="http://127.0.0.1", follow_redirects=False)
    codes = [_attempt(client, "Carl", f"guess number {index:04d}") for index in range(10)]
    assert codes[-1] == 429
    assert _attempt(client, "Carl", PASSWORD) == 429


def test_unknown_names_are_locked_alike(web_area: ExportArea) -> None:
    for name in ("Nobody", "Carl"):
        client = _client(web_area, SignInThrottle(SignInLimits(max_failures=2)))
        codes = [_attempt(client, name, "wrong password here") for _ in range(4)]
        assert codes == [401, 401, 401, 429]


def test_limits_hold_per_account_across_addresses_and_per_address_across_names() -> None:
    clock = Clock()
    limits = SignInLimits(max_failures=3, max_address_failures=3, max_attempts=10)
    throttle = SignInThrottle(limits, clock=clock)
    for index in range(4):  # one account from many addresses
        assert throttle.check("Carl", f"10.0.0.{index}").allowed
        throttle.failed("Carl", f"10.0.0.{index}")
    verdict = throttle.check("carl ", "10.0.0.99")
    assert not verdict.allowed and verdict.reason == "account locked"
    for index in range(4):  # one address trying many names
        assert throttle.check(f"name{index}", "192.0.2.1").allowed
        throttle.failed(f"name{index}", "192.0.2.1")
    verdict = throttle.check("Dana", "192.0.2.1")
    assert not verdict.allowed and verdict.reason == "address locked"
    assert throttle.check("Dana", "192.0.2.2").allowed  # others are not held back
    clock.now += 15 * 60 + 1
    for _ in range(10):  # the address rate limit counts right and wrong attempts
        assert throttle.check("Dana", "198.51.100.7").allowed
        throttle.succeeded("Dana", "198.51.100.7")
    assert throttle.check("Dana", "198.51.100.7").reason == "address rate limit"


def test_an_address_may_fail_more_often_than_an_account() -> None:
    """Checkers in a TRE often share one address: one person's typos do not lock it."""
    throttle = SignInThrottle(clock=Clock())
    for index in range(20):
        assert throttle.check(f"name{index // 5}{index}", "10.1.1.1").allowed
        throttle.failed(f"name{index // 5}{index}", "10.1.1.1")
    verdict = throttle.check("Dana", "10.1.1.1")
    assert verdict.allowed
    throttle.failed("Dana", "10.1.1.1")  # the 21st failure from the address locks it
    assert throttle.check("Eve", "10.1.1.1").reason == "address locked"


def test_every_attempt_is_logged_without_the_password(web_area: ExportArea) -> None:
    client = _client(web_area, SignInThrottle(SignInLimits(max_failures=1)))
    assert _attempt(client, "Carl", "wrong password 1") == 401
    assert _attempt(client, "Carl", "wrong password 2") == 401  # locks
    assert _attempt(client, "Carl", PASSWORD) == 429
    # another name from the same address is still checked (an address may fail more)
    assert _attempt(client, "a password typed as a name", "x" * 12) == 401
    log = web_area.sign_in_log_path.read_bytes()
    for secret in (b"wrong password", PASSWORD.encode(), b"typed as a name", b"x" * 12):
        assert secret not in log
    entries = read_sign_in_log(web_area)
    assert [entry["event"] for entry in entries] == ["failed", "locked", "refused", "failed"]
    assert [entry["account"] for entry in entries] == ["Carl", "Carl", "Carl", None]
    assert all(entry["address"] == "testclient" for entry in entries)
    assert verify_sign_in_log(web_area) == []
    result = run_cli("export", "audit", "--dir", web_area.root)
    assert result.exit_code == 0 and "4 attempts, 4 failed or refused" in result.output
    lines = log.split(b"\n")
    web_area.sign_in_log_path.write_bytes(b"\n".join([lines[0], *lines[2:]]))  # drop one
    assert "line 2: does not follow line 1" in verify_sign_in_log(web_area)[0]
    result = run_cli("export", "audit", "--dir", web_area.root)
    assert result.exit_code == 4 and "sign-in log FAILED" in result.output


def test_hammering_a_locked_page_adds_a_line_a_minute(web_area: ExportArea) -> None:
    clock = Clock()
    client = _client(web_area, SignInThrottle(SignInLimits(max_failures=1), clock=clock))
    for _ in range(2):
        _attempt(client, "Carl", "wrong password here")
    codes = [_attempt(client, "Carl", "wrong password here") for _ in range(25)]
    assert set(codes) == {429}
    clock.now += 61
    assert _attempt(client, "Carl", "wrong password here") == 429
    entries = read_sign_in_log(web_area)
    assert [entry["event"] for entry in entries] == ["failed", "locked", "refused", "refused"]
    assert entries[2]["detail"] == "account locked; 1 attempt(s) refused"
    assert entries[3]["detail"] == "account locked; 25 attempt(s) refused"


def test_the_chain_holds_across_long_lines(web_area: ExportArea) -> None:
    from tre_export.web.sign_in_log import record_sign_in

    for index in range(3):
        address = f"{index}" + "x" * 9000  # longer than the block read from the end
        record_sign_in(web_area, event="failed", account=None, address=address)
    assert [entry["seq"] for entry in read_sign_in_log(web_area)] == [0, 1, 2]
    assert verify_sign_in_log(web_area) == []
