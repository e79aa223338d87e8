"""Comment moderation classifier: label reader comments, train, score, serve."""

from moderation.errors import (
    ArchiveError,
    InputError,
    LabelError,
    ModelError,
    ModerationError,
    PolicyError,
)

__version__ = "0.1.0"

__all__ = [
    "ArchiveError",
    "InputError",
    "LabelError",
    "ModelError",
    "ModerationError",
    "PolicyError",
    "__version__",
]
