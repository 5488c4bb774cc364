"""trelink: privacy-preserving linkage and disclosure control for Trusted Research Environments.

This umbrella package holds only what every role shares: the root error, atomic file
output and the ``trelink`` command line that gathers each role's sub-commands.
"""

from trelink.atomic import atomic_directory, atomic_file
from trelink.errors import TrelinkError

__all__ = ["TrelinkError", "atomic_directory", "atomic_file"]
__version__ = "0.1.0"
