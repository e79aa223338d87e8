"""The outlet's archive pages: an article, its discussion policy and its reader comments.

A page (see `seeds/*.txt`) is plain text: a title line, the article's paragraphs, an optional
"Related posts" / "Discussion Policy" trailer with the policy paragraph, then the comments::

      1. Christo said:            top-level comment: indent, number, author, "said:" (or "says:")
                                  its body: the following, more deeply indented lines
        Ilham why don't you …
        • Avery said:             a reply: a bullet, replying to the nearest preceding
                                  comment whose header is less indented
      9. Pingback: …              skipped

Parsing is pure (`parse_page`); `read_page` is the thin file reader. Readers for JSONL and CSV
inputs live in `moderation.inputs`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from moderation.errors import ArchiveError

__all__ = ["Comment", "Page", "parse_page", "read_page"]

_SAID = r"(?:said|says|wrote)[ \t]*:"
# A comment header: indent, then a number ("12.") or a bullet, the author, "said:", nothing after.
_HEADER = re.compile(
    r"^(?P<indent>[ \t]*)(?:(?P<number>\d+)\.|[•◦▪·*-])[ \t]+(?P<author>\S.*?)[ \t]+"
    + _SAID
    + r"[ \t]*$",
    re.IGNORECASE,
)
_PINGBACK = re.compile(r"^(?P<indent>[ \t]*)\d+\.[ \t]+(?:Pingback|Trackback)\b", re.IGNORECASE)
_POLICY_MARK = "discussion policy"
_RELATED_MARK = "related posts"


@dataclass(frozen=True)
class Comment:
    """One reader comment; archive fields are None when the source does not know them."""

    id: str  # f"{article}:{position}" for archive pages, the record's id for JSONL/CSV
    article: str | None  # page id
    number: int | None  # the printed number; None for replies and JSONL/CSV records
    position: int  # 1-based order among the page's comments (pingbacks excluded) or records
    parent: str | None  # id of the comment this one replies to
    author: str | None
    text: str  # "" for an empty comment
    is_reply: bool = False


@dataclass(frozen=True)
class Page:
    """One archive page.

    `paragraphs` are the article's paragraphs (stripped lines, line breaks within a paragraph
    kept); `body` is the same text as one string, paragraphs separated by a blank line.
    """

    id: str
    title: str
    paragraphs: list[str]
    policy_text: str
    comments: list[Comment] = field(default_factory=list)

    @property
    def body(self) -> str:
        """The article text: paragraphs joined with a blank line."""
        return "\n\n".join(self.paragraphs)


def parse_page(text: str, page_id: str) -> Page:
    """Parse the text of one archive page into a `Page` with its comments.

    >>> page = parse_page(
    ...     "Talks stall\\n\\nNo progress.\\n\\nDiscussion Policy\\n\\nBe civil.\\n\\n"
    ...     "  1. Ani said:\\n\\n    Sad news.\\n\\n    • Bob said:\\n\\n      Agreed.\\n",
    ...     "007_demo",
    ... )
    >>> page.title, page.body, page.policy_text
    ('Talks stall', 'No progress.', 'Be civil.')
    >>> [(c.id, c.number, c.author, c.parent, c.text) for c in page.comments]
    [('007_demo:1', 1, 'Ani', None, 'Sad news.'), ('007_demo:2', None, 'Bob', '007_demo:1', 'Agreed.')]
    """
    lines = _split_lines(text)
    start = next((i for i, line in enumerate(lines) if line.strip()), None)
    if start is None:
        raise ArchiveError(f"page {page_id}: no text, expected a title line")
    title = lines[start].strip()

    policy_at = _find_mark(lines, start + 1, _POLICY_MARK)
    related_at = _find_mark(lines, start + 1, _RELATED_MARK)
    # Comments are only looked for after the policy when there is one, so that numbered
    # "… said:" lines in an article are never mistaken for comments.
    search_from = start + 1 if policy_at is None else policy_at + 1
    comments_at = next(
        (i for i in range(search_from, len(lines)) if _top_header(lines[i])), len(lines)
    )
    body_end = min(i for i in (policy_at, related_at, comments_at) if i is not None)
    paragraphs = _paragraphs(lines[start + 1 : body_end])

    policy_text = ""
    if policy_at is not None:
        policy_end = min(i for i in (related_at, comments_at) if i is not None and i > policy_at)
        policy_text = "\n\n".join(_paragraphs(lines[policy_at + 1 : policy_end]))

    comments = _parse_comments(lines[comments_at:], page_id)
    return Page(page_id, title, paragraphs, policy_text, comments)


def read_page(path: Path) -> Page:
    """Read and parse one archive page; its id is the file stem (`000_c87f713ab8df9e35`)."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise ArchiveError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise ArchiveError(f"{path}: is a directory, expected an archive page (.txt)") from None
    except OSError as exc:
        raise ArchiveError(f"{path}: cannot read: {exc.strerror or exc}") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise ArchiveError(
            f"{path}:{line}: not valid UTF-8: byte 0x{data[exc.start]:02x} at byte offset "
            f"{exc.start}; re-encode the file as UTF-8"
        ) from None
    if not text.strip():
        raise ArchiveError(f"{path}: empty file, expected an archive page with a title line")
    return parse_page(text, path.stem)


# ── private helpers ─────────────────────────────────────────────────────────────────────────


@dataclass
class _Draft:
    """A comment being collected: its header fields and raw body lines."""

    position: int
    number: int | None
    author: str
    parent: str | None
    lines: list[str] = field(default_factory=list)


def _split_lines(text: str) -> list[str]:
    """Lines without endings (any of \\n, \\r\\n, \\r), BOM dropped, leading tabs expanded."""
    text = text.removeprefix("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
    return [re.sub(r"^[ \t]+", lambda m: m.group().expandtabs(8), line) for line in text.split("\n")]


def _indent(line: str) -> int:
    """Number of leading spaces (tabs are already expanded)."""
    return len(line) - len(line.lstrip(" "))


def _find_mark(lines: list[str], start: int, mark: str) -> int | None:
    """Index of the first line from `start` that reads exactly `mark` (any case), or None."""
    return next((i for i in range(start, len(lines)) if lines[i].strip().lower() == mark), None)


def _top_header(line: str) -> bool:
    """True for a numbered comment header or a pingback: what a comment section starts with."""
    match = _HEADER.match(line)
    return bool(match and match["number"]) or bool(_PINGBACK.match(line))


def _paragraphs(lines: list[str]) -> list[str]:
    """Group stripped lines into paragraphs separated by blank lines."""
    paragraphs: list[list[str]] = [[]]
    for line in lines:
        if line.strip():
            paragraphs[-1].append(line.strip())
        elif paragraphs[-1]:
            paragraphs.append([])
    return ["\n".join(p) for p in paragraphs if p]


def _comment_text(lines: list[str]) -> str:
    """Dedent a comment body by its common indent; paragraphs joined with one blank line."""
    lines = [line.rstrip() for line in lines]
    indent = min((_indent(line) for line in lines if line), default=0)
    out: list[str] = []
    for line in lines:
        if line:
            out.append(line[indent:])
        elif out and out[-1]:
            out.append("")
    return "\n".join(out).strip("\n")


def _parse_comments(lines: list[str], page_id: str) -> list[Comment]:
    """Parse the comment section (starting at its first header) into comments, in page order."""
    if not lines:
        return []
    top = _indent(lines[0])  # numbered headers at any other indent are comment text
    drafts: list[_Draft] = []
    stack: list[tuple[int, str]] = []  # (header indent, comment id) of the open thread
    current: _Draft | None = None
    for line in lines:
        stripped = line.strip().lower()
        if _indent(line) <= top and stripped in (_POLICY_MARK, _RELATED_MARK):
            break  # a trailer after the comments ends them
        if _PINGBACK.match(line) and _indent(line) == top:
            current = None  # a pingback and any lines under it are skipped
            continue
        match = _HEADER.match(line)
        if match and (match["number"] is None or _indent(line) == top):
            indent = _indent(line)
            while stack and stack[-1][0] >= indent:
                stack.pop()
            position = len(drafts) + 1
            number = int(match["number"]) if match["number"] else None
            parent = stack[-1][1] if stack else None
            current = _Draft(position, number, match["author"].strip(), parent)
            drafts.append(current)
            stack.append((indent, f"{page_id}:{position}"))
        elif current is not None:
            current.lines.append(line)
    return [
        Comment(
            id=f"{page_id}:{d.position}",
            article=page_id,
            number=d.number,
            position=d.position,
            parent=d.parent,
            author=d.author,
            text=_comment_text(d.lines),
            is_reply=d.parent is not None,
        )
        for d in drafts
    ]
