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
ENV_RELOAD_INTERVAL = "MODERATION_RELOAD_INTERVAL"  # seconds between checks of models/current; 0: never
ENV_FEEDBACK_DIR = "MODERATION_FEEDBACK_DIR"
ENV_MODERATOR_TOKENS = "MODERATION_MODERATOR_TOKENS"
ENV_QUEUE_INPUT = "MODERATION_QUEUE_INPUT"  # comments to review: seeds/, pages, {id, text} JSONL, CSV
ENV_QUEUE_FILE = "MODERATION_QUEUE_FILE"  # a `moderation score` output choosing which of them to queue
DEFAULT_MAX_BODY_BYTES = 2 * 1024 * 1024
DEFAULT_FEEDBACK_DIR = "labels/feedback"
MIN_TOKEN_CHARS = 16
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
    reload_interval: float = 5.0  # seconds between checks for a new models/current (hot reload); 0 disables
    feedback_dir: str = DEFAULT_FEEDBACK_DIR
    moderator_tokens: frozenset["ModeratorToken"] = field(default_factory=frozenset)
    # The review queue's sources: inputs `moderation score` reads and/or its .jsonl outputs (service.review).
    queue_files: tuple[str, ...] = ()

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
        interval = self.reload_interval
        if isinstance(interval, bool) or not isinstance(interval, (int, float)) or not 0 <= interval < 86400:
            raise SettingsError(f"reload_interval: expected seconds ≥ 0 (0 disables hot reload), found {interval!r}")
        if not isinstance(self.feedback_dir, str) or not self.feedback_dir.strip():
            raise SettingsError(f"feedback_dir: expected a directory path, found {self.feedback_dir!r}; "
                                f"set {ENV_FEEDBACK_DIR}")
        object.__setattr__(self, "moderator_tokens", _moderator_tokens(self.moderator_tokens))
        object.__setattr__(self, "queue_files", _paths(self.queue_files))
        shared = {t.token for t in self.moderator_tokens} & self.api_keys
        if shared:
            raise SettingsError("moderator_tokens: a moderator token is also an API key; "
                                "use different secrets so that scoring clients cannot write labels")

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
        if env.get(ENV_FEEDBACK_DIR):
            values["feedback_dir"] = env[ENV_FEEDBACK_DIR]
        if env.get(ENV_MODERATOR_TOKENS):
            values["moderator_tokens"] = env[ENV_MODERATOR_TOKENS]
        queue = [p for name in (ENV_QUEUE_INPUT, ENV_QUEUE_FILE) for p in env.get(name, "").split(os.pathsep)]
        if any(p.strip() for p in queue):
            values["queue_files"] = queue
        for name, field, kind, unit in ((ENV_RELOAD_INTERVAL, "reload_interval", float, "seconds"),
                                        (ENV_MAX_BODY_BYTES, "max_body_bytes", int, "bytes")):
            if env.get(name):
                raw = env[name].strip()
                try:
                    values[field] = kind(raw)
                except ValueError:
                    raise SettingsError(f"{name}: expected a number of {unit}, found {raw!r}") from None
        values.update({k: v for k, v in overrides.items() if v is not None})
        unknown = set(values) - {"model_dir", "api_keys", "max_body_bytes", "feedback_dir", "moderator_tokens",
                                   "queue_files", "reload_interval"}
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


@dataclass(frozen=True, repr=False)
class ModeratorToken:
    """A secret that lets a moderator record labels; `name`, when set, is the moderator recorded.

    >>> ModeratorToken("maria", "0123456789abcdef")
    ModeratorToken(name='maria', token=<hidden>)
    """

    name: str | None
    token: str

    def __repr__(self) -> str:
        return f"ModeratorToken(name={self.name!r}, token=<hidden>)"


_NAME = re.compile(r"[\w.@-]{1,100}")


def _moderator_tokens(raw: str | Iterable[str | ModeratorToken] | None) -> frozenset[ModeratorToken]:
    """Tokens from `name:token,token2,…` (a string) or an iterable of such entries; blanks dropped.

    A token that itself contains ":" must be given a name (the first ":" separates the two).
    """
    if raw is None:
        return frozenset()
    items = raw.split(",") if isinstance(raw, str) else list(raw)
    tokens: dict[str, ModeratorToken] = {}
    for i, item in enumerate(items, start=1):
        if isinstance(item, ModeratorToken):
            name, secret = item.name, item.token
        elif isinstance(item, str):
            item = item.strip()
            if not item:
                continue
            name, sep, secret = item.partition(":")
            if not sep:
                name, secret = None, item
        else:
            raise SettingsError(f"moderator_tokens: entry {i} is {type(item).__name__}, expected a string")
        if name is not None and not _NAME.fullmatch(name):
            raise SettingsError(f"moderator_tokens: entry {i}: the name before ':' must be 1–100 letters, digits "
                                f"or . _ @ -; found {name!r}")
        if not _KEY.fullmatch(secret or ""):
            raise SettingsError(f"moderator_tokens: entry {i}: the token contains spaces or non-ASCII characters "
                                "(or is empty); tokens must be printable ASCII")
        if len(secret) < MIN_TOKEN_CHARS:
            raise SettingsError(
                f"moderator_tokens: entry {i}: the token has {len(secret)} characters; use at least "
                f"{MIN_TOKEN_CHARS}, e.g. from `python -c 'import secrets; print(secrets.token_urlsafe(24))'`"
            )
        if secret in tokens and tokens[secret].name != name:
            raise SettingsError(f"moderator_tokens: entry {i}: the same token is configured with two names")
        tokens[secret] = ModeratorToken(name, secret)
    return frozenset(tokens.values())


def _paths(raw: str | Iterable[str] | None) -> tuple[str, ...]:
    """The review queue's source paths from one path or an iterable of paths; blank entries dropped."""
    if raw is None:
        return ()
    items = [raw] if isinstance(raw, str) else list(raw)
    paths = []
    for i, item in enumerate(items, start=1):
        if not isinstance(item, (str, os.PathLike)):
            raise SettingsError(f"queue_files: entry {i} is {type(item).__name__}, expected a path; "
                                f"set {ENV_QUEUE_INPUT} (and {ENV_QUEUE_FILE})")
        if str(item).strip():
            paths.append(str(item).strip())
    return tuple(paths)
