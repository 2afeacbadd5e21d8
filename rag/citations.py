"""Citation markers in generated text: find them, keep the ones that point to a source, drop the rest."""

from __future__ import annotations

import re

MARKER = re.compile(r"\s*\[(\d+(?:\s*,\s*\d+)*)\]")


def cited_numbers(text: str) -> list[int]:
    """Source numbers in order of first mention; "[1, 2]" counts as two."""
    seen: list[int] = []
    for m in MARKER.finditer(text):
        for part in m.group(1).split(","):
            n = int(part)
            if n not in seen:
                seen.append(n)
    return seen


def strip_markers(text: str) -> str:
    return MARKER.sub("", text).strip()


def clean_markers(text: str, valid: set[int]) -> str:
    """Rewrite markers to keep only valid numbers; a marker with none left disappears entirely."""

    def keep(m: re.Match[str]) -> str:
        nums = [int(p) for p in m.group(1).split(",") if int(p) in valid]
        return "".join(f" [{n}]" for n in dict.fromkeys(nums))

    return MARKER.sub(keep, text).strip()
