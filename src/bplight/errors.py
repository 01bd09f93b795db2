"""The exceptions bplight raises for conditions a user can fix.

Everything a user can cause (a bad hardware description, a missing or corrupt data
file, a bad flag or input file, a design whose physics cannot work) derives from
:class:`BplightError`. The command line prints such an error as one sentence and exits
with code 2; any other exception is a bug and surfaces with its traceback. Library code
never catches ``ValueError`` to turn it into one of these: it raises the right subclass
where the condition is detected.
"""

from __future__ import annotations


class BplightError(Exception):
    """Root of the errors a user can fix; ``str(exc)`` is one sentence."""


class ConfigError(BplightError):
    """A hardware description (preset, YAML file, ``--set`` override, sweep spec) that
    cannot be used: names the field, the offending value and what is allowed."""


class DataError(BplightError):
    """A dataset file that is missing, corrupt or of the wrong format."""


class InputError(BplightError):
    """A command-line flag, input file or argument that cannot be used."""


class InfeasibleDesignError(BplightError):
    """A valid description of a chip that cannot work (e.g. its link budget cannot close
    within the laser's limits); the message says which limit is exceeded."""
