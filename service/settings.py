"""The service's one settings object, read from the environment and validated at start-up."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from typing import Iterable, Mapping

from moderation.errors import ModerationError

ENV_MODEL_DIR = "MODERATION_MODEL_DIR"
ENV_API_KEYS = "MODERATION_API_KEYS"
ENV_MAX_BODY_BYTES = "MODERATION_MAX_BODY_BYTES"
DEFAULT_MAX_BODY_BYTES = 2 * 1024 * 1024
_KEY = re.compile(r"[\x21-\x7e]+")  # printable ASCII without spaces: safe in a header and a query


class SettingsError(ModerationError):
    """A setting is missing or has an unusable value; the message names the setting."""


@dataclass(frozen=True)
class Settings:
    """What the service needs to start.

    >>> Settings(model_dir="models/current", api_keys="k1,k2").api_keys == frozenset({"k1", "k2"})
    True
    """

    model_dir: str
    api_keys: frozenset[str] = field(default_factory=frozenset)
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES

    def __post_init__(self) -> None:
        if not isinstance(self.model_dir, str) or not self.model_dir.strip():
            raise SettingsError(
                f"model_dir: expected the path of a model directory, found {self.model_dir!r}; "
                f"set {ENV_MODEL_DIR} or pass --model"
            )
        object.__setattr__(self, "api_keys", _keys(self.api_keys))
        size = self.max_body_bytes
        if isinstance(size, bool) or not isinstance(size, int) or size < 1024:
            raise SettingsError(f"max_body_bytes: expected an integer of at least 1024 bytes, found {size!r}")

    @property
    def auth_required(self) -> bool:
        """True when scoring endpoints need an API key."""
        return bool(self.api_keys)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides) -> "Settings":
        """Settings from `MODERATION_*` environment variables; keyword arguments win over them.

        >>> Settings.from_env({"MODERATION_MODEL_DIR": "models"}).model_dir
        'models'
        """
        env = os.environ if env is None else env
        values: dict = {}
        if env.get(ENV_MODEL_DIR):
            values["model_dir"] = env[ENV_MODEL_DIR]
        if env.get(ENV_API_KEYS):
            values["api_keys"] = env[ENV_API_KEYS]
        if env.get(ENV_MAX_BODY_BYTES):
            raw = env[ENV_MAX_BODY_BYTES].strip()
            try:
                values["max_body_bytes"] = int(raw)
            except ValueError:
                raise SettingsError(f"{ENV_MAX_BODY_BYTES}: expected a number of bytes, found {raw!r}") from None
        values.update({k: v for k, v in overrides.items() if v is not None})
        unknown = set(values) - {"model_dir", "api_keys", "max_body_bytes"}
        if unknown:
            raise SettingsError(f"unknown setting(s): {', '.join(sorted(unknown))}")
        if "model_dir" not in values:
            raise SettingsError(f"model_dir: not set; set {ENV_MODEL_DIR} or pass --model")
        return cls(**values)


def _keys(raw: str | Iterable[str] | None) -> frozenset[str]:
    """API keys from a comma-separated string or an iterable; blank entries are dropped."""
    if raw is None:
        return frozenset()
    items = raw.split(",") if isinstance(raw, str) else list(raw)
    keys = set()
    for i, item in enumerate(items, start=1):
        if not isinstance(item, str):
            raise SettingsError(f"api_keys: entry {i} is {type(item).__name__}, expected a string")
        item = item.strip()
        if not item:
            continue
        if not _KEY.fullmatch(item):
            raise SettingsError(
                f"api_keys: entry {i} contains spaces or non-ASCII characters; "
                "keys must be printable ASCII so that they fit in a header and a URL"
            )
        keys.add(item)
    return frozenset(keys)
