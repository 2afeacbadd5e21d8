"""A filled PDF form's values: pypdf's page text holds only the blank form's labels, never what was filled in.
Pure functions over pypdf's `get_fields()` mapping."""

from __future__ import annotations

from typing import Any


def form_values(fields: dict[str, Any]) -> list[str]:
    """A filled form's fields as "- Label: value" lines (the label is the field's tooltip, else its name; a ticked
    box is "yes"): pypdf's text never holds them, so a filled application or proposal read as its blank form."""
    lines = []
    for name, field in fields.items():
        shown = _shown(field.get("/V"))
        if shown:
            label = str(field.get("/TU") or name)
            lines.append(f"- {label[:1].upper()}{label[1:]}: {shown}")  # a list item: quotable as it is
    return lines


def _shown(value: Any) -> str:
    """A field's value as a reader sees it: text, a ticked box "yes", a choice's name without its "/", a multiple
    choice joined; "" for nothing, an unticked box or what is no value (a signature's dictionary)."""
    if isinstance(value, list):
        return ", ".join(filter(None, map(_shown, value)))
    if value is None or isinstance(value, dict) or str(value) == "/Off":
        return ""
    text = " ".join(str(value).split())
    return "yes" if text in ("/Yes", "/On") else text.removeprefix("/")
