"""The view model of a report, and its markdown rendering (render.html renders it as HTML).

A builder (render.run_markdown.run_report, render.compare_markdown.comparison_report) turns a saved document
into a Report: a title and its verdict, a first screen, then sections of paragraphs, lists and tables. Text is
data with its emphasis marked (Code, Bold, Span), never markdown to be parsed again, so that both renderers
write the same words. A block or section meant for one medium only (an interactive heat map, a plot, a table
too long for markdown) says so in `only`; the other renderer leaves it out.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from jacobian_harness.render.formatting import markdown_table

Medium = Literal["markdown", "html"]


@dataclass(frozen=True)
class Code:
    text: str


@dataclass(frozen=True)
class Bold:
    text: str


@dataclass(frozen=True)
class Span:
    """Text in pieces: plain strings, Code and Bold."""
    parts: tuple[str | Code | Bold, ...]


Inline = str | Code | Bold | Span


def span(*parts: Inline) -> Span:
    """Pieces of text as one Span (nested Spans flattened)."""
    flat: list[str | Code | Bold] = []
    for part in parts:
        flat += part.parts if isinstance(part, Span) else (part,)
    return Span(tuple(flat))


@dataclass(frozen=True)
class Cell:
    """A table cell with a sort key for the HTML table (a number where the text is a formatted one)."""
    text: Inline
    sort: str


@dataclass(frozen=True)
class Paragraph:
    text: Inline
    css: str = ""  # the HTML class (e.g. "fail")
    only: Medium | None = None


@dataclass(frozen=True)
class Bullets:
    items: tuple[Inline, ...]
    only: Medium | None = None


@dataclass(frozen=True)
class Table:
    headers: tuple[Inline, ...]
    rows: tuple[tuple[Inline | Cell, ...], ...]
    only: Medium | None = None


@dataclass(frozen=True)
class Image:
    """A plot, by the name of its file (the HTML renderer is handed the PNGs; markdown leaves plots out)."""
    name: str
    alt: str
    only: Medium | None = "html"


@dataclass(frozen=True)
class HeatMap:
    """One coloured cell per (row, column), each with a tooltip; columns grouped under labels."""
    legend: tuple[tuple[str, str], ...]  # (label, colour)
    groups: tuple[tuple[str, int], ...]  # (label, number of columns)
    columns: tuple[str, ...]
    rows: tuple[tuple[str, tuple[tuple[str, str] | None, ...]], ...]  # (row, (colour, tooltip) or None)
    only: Medium | None = "html"


Block = Paragraph | Bullets | Table | Image | HeatMap


@dataclass(frozen=True)
class Section:
    title: Inline  # "" for blocks that follow the previous section without a heading of their own
    blocks: tuple[Block, ...]
    level: int = 2
    only: Medium | None = None


@dataclass(frozen=True)
class Report:
    title: str
    verdict: str  # PASS, FAIL, INTERRUPTED: the title's last word
    first_screen: tuple[Block, ...]
    sections: tuple[Section, ...] = field(default=())

    @property
    def answer(self) -> Inline | None:
        """The first screen's first bold paragraph: the report's answer, where it has one."""
        for block in self.first_screen:
            if isinstance(block, Paragraph) and isinstance(block.text, Bold):
                return block.text
        return None


def shown(item: Block | Section, medium: Medium) -> bool:
    return item.only in (None, medium)


def inline_markdown(text: Inline) -> str:
    if isinstance(text, Code):
        return f"`{text.text}`"
    if isinstance(text, Bold):
        return f"**{text.text}**"
    if isinstance(text, Span):
        return "".join(inline_markdown(part) for part in text.parts)
    return text


def _block_markdown(block: Block) -> list[str]:
    if isinstance(block, Paragraph):
        return [inline_markdown(block.text), ""]
    if isinstance(block, Bullets):
        return [f"- {inline_markdown(item)}" for item in block.items] + [""]
    if isinstance(block, Table):
        return markdown_table([inline_markdown(h) for h in block.headers],
                              [[inline_markdown(c.text if isinstance(c, Cell) else c) for c in row]
                               for row in block.rows])
    return []  # plots and heat maps are HTML's


def to_markdown(report: Report) -> str:
    lines = [f"# {report.title}: {report.verdict}", ""]
    for block in report.first_screen:
        lines += _block_markdown(block) if shown(block, "markdown") else []
    for section in report.sections:
        if not shown(section, "markdown"):
            continue
        if section.title:
            lines += [f"{'#' * section.level} {inline_markdown(section.title)}", ""]
        for block in section.blocks:
            lines += _block_markdown(block) if shown(block, "markdown") else []
    return "\n".join(lines)
