"""Errors raised by agents for user mistakes.

``agents`` may not import ``engine``; the marker ``is_user_error = True`` lets
the engine and the CLI treat these as user errors (one line, exit 1).
"""


class AgentError(ValueError):
    """A bad agent setting or input."""

    is_user_error = True


class CheckpointError(AgentError):
    """A checkpoint that is corrupt, written by something else, or unsafe to load."""
