"""Moved to ``trelink.trust.keys`` (every role reads key files there); this name stays
only while code written against it is brought over. Import ``trelink.trust.keys``."""

from trelink.trust.keys import *  # noqa: F403
from trelink.trust.keys import __all__ as __all__
