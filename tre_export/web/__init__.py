"""The checkers' web page: sign-in with argon2id passwords, delegated web keys, sign-in
limits and lockouts, and a Starlette application rendering the request queue with its
automated evidence."""

from tre_export.web.accounts import WebSession, set_password, sign_in
from tre_export.web.app import create_app
from tre_export.web.throttle import SignInLimits, SignInThrottle

__all__ = [
    "SignInLimits",
    "SignInThrottle",
    "WebSession",
    "create_app",
    "set_password",
    "sign_in",
]
