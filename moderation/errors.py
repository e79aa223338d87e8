"""The one error family of the project; the CLI and the service translate it at their boundary."""

from __future__ import annotations


class ModerationError(Exception):
    """Base class: a problem the user can fix, with a message that says what and where."""


class PolicyError(ModerationError):
    """`labels/policy.toml` is missing, malformed or inconsistent."""


class ArchiveError(ModerationError):
    """An archive page or input file cannot be read or parsed."""


class InputError(ModerationError):
    """A comment or request is unusable: empty text, too long, wrong type."""


class ModelError(ModerationError):
    """A model directory is missing, corrupt, or does not match its card."""


class LabelError(ModerationError):
    """A label file has bad rows; carries every problem found, each with file and line."""

    def __init__(self, problems: list["LabelProblem"] | str) -> None:
        if isinstance(problems, str):
            self.problems: list = []
            super().__init__(problems)
            return
        self.problems = list(problems)
        shown = "\n".join(str(p) for p in self.problems[:50])
        more = len(self.problems) - 50
        if more > 0:
            shown += f"\n… and {more} more problems"
        super().__init__(f"{len(self.problems)} problem(s) in label files:\n{shown}")


class LabelProblem:
    """One problem in a label file: `path:line: field: message`."""

    __slots__ = ("path", "line", "field", "message")

    def __init__(self, path: str, line: int | None, field: str | None, message: str) -> None:
        self.path = path
        self.line = line
        self.field = field
        self.message = message

    def __str__(self) -> str:
        where = self.path if self.line is None else f"{self.path}:{self.line}"
        return f"{where}: {self.field}: {self.message}" if self.field else f"{where}: {self.message}"

    def __repr__(self) -> str:
        return f"LabelProblem({str(self)!r})"
