"""Errors raised by agents for user mistakes.

``agents`` may not import ``engine``; the marker ``is_user_error = True`` lets
the engine and the CLI treat these as user errors (one line, exit 1).
"""


class AgentError(ValueError):
    """A bad agent setting or input."""

    is_user_error = True


class CheckpointError(AgentError):
    """A checkpoint that is corrupt, written by something else, or unsafe to load."""


class SettingError(AgentError):
    """A bad value of one config field, with its parts kept apart so that a front
    end can name the field as its user wrote it (``--param lr``, ``--seed``, a
    stored config) instead of as ``DQNConfig.lr``.

    ``str()`` is the Python user's form: ``DQNConfig.lr='x': expected ...``.
    """

    def __init__(
        self, owner: str | None, field: str, value: object, problem: str,
        *, use: object = None, also: tuple[str, ...] = (),
    ) -> None:
        """:param owner: the config class (None for a setting of no one class).
        :param field: the config field at fault.
        :param value: its value.
        :param problem: what is wrong, in words (``expected an integer >= 1``).
        :param use: a value of the same field that would work, when there is one.
        :param also: other fields that share the blame (a product of settings).
        """
        self.owner, self.field, self.value, self.problem = owner, field, value, problem
        self.use, self.also = use, also
        prefix = f"{owner}." if owner else ""
        super().__init__(self.render(f"{prefix}{field}={value!r}", f"{field}={use!r}"))

    def render(self, name: str, use: str | None = None) -> str:
        """The message with the field shown as ``name`` and the advice as ``use``."""
        advice = f"; use {use}" if self.use is not None and use else ""
        return f"{name}: {self.problem}{advice}"
