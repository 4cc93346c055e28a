"""A report as sections (title, paragraphs, a table, a chart), rendered to Markdown and to one
self-contained HTML page from the same content.

The HTML page embeds its PNGs as base64 and its CSS inline, so it opens from a copied folder or an
e-mail attachment with no network and no other file."""

from __future__ import annotations

import base64
import html
import re
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class Section:
    """A block of the report, rendered to Markdown and to HTML from the same content."""

    title: str
    paragraphs: list[str] = field(default_factory=list)
    header: list[str] = field(default_factory=list)
    rows: list[list[str]] = field(default_factory=list)
    image: str | None = None  # PNG file name in the report's directory
    caption: str = ""
    level: int = 2


def _md_escape(s: str) -> str:
    return str(s).replace("|", "\\|")


def to_markdown(secs: list[Section], images: list[str] | None = None) -> str:
    lines: list[str] = []
    for s in secs:
        if s.title:
            lines += ["#" * s.level + " " + s.title, ""]
        for p in s.paragraphs:
            lines += [p, ""] if not p.startswith("- ") else [p]
        if s.paragraphs and s.paragraphs[-1].startswith("- "):
            lines.append("")
        if s.header:
            lines.append("| " + " | ".join(map(_md_escape, s.header)) + " |")
            lines.append("|" + "---|" * len(s.header))
            lines += ["| " + " | ".join(map(_md_escape, r)) + " |" for r in s.rows]
            lines.append("")
        if s.image and (images is None or s.image in images):
            lines += [f"![{s.caption or s.title}]({s.image})", ""]
    return "\n".join(lines)


# ------------------------------------------------------------------------------------------- HTML
CSS = """
body{font-family:-apple-system,Segoe UI,Helvetica,Arial,sans-serif;max-width:1180px;margin:24px auto;padding:0 16px;
color:#222;line-height:1.45}
h1{font-size:1.5em;border-bottom:2px solid #333;padding-bottom:4px}h2{font-size:1.2em;margin-top:1.8em}
table{border-collapse:collapse;margin:8px 0 14px;font-size:.86em}
th,td{border:1px solid #ccc;padding:3px 7px;text-align:right;vertical-align:top}
th{background:#f0f0f0}td:first-child,td:nth-child(2),th:first-child,th:nth-child(2){text-align:left}
tr:nth-child(even) td{background:#fafafa}
img{max-width:100%;border:1px solid #eee;margin:6px 0}
code{background:#f4f4f4;padding:0 3px}.caption{color:#555;font-size:.9em}
.warn{background:#fff4e0;border-left:4px solid #e69500;padding:6px 10px}
"""


def _inline(text: str) -> str:
    """Markdown's `code` and **bold** in one line of text, HTML-escaped."""
    s = html.escape(text)
    s = re.sub(r"`([^`]+)`", r"<code>\1</code>", s)
    return re.sub(r"\*\*([^*]+)\*\*", r"<strong>\1</strong>", s)


def to_html(secs: list[Section], out: Path, images: list[str]) -> str:
    title = next((s.title for s in secs if s.level == 1), "Sweep comparison")
    parts = ["<!DOCTYPE html>", "<html lang=\"en\"><head><meta charset=\"utf-8\">",
             f"<title>{html.escape(title)}</title><style>{CSS}</style></head><body>"]
    for s in secs:
        if s.title:
            parts.append(f"<h{s.level}>{html.escape(s.title)}</h{s.level}>")
        bullets = [p for p in s.paragraphs if p.startswith("- ")]
        for p in s.paragraphs:
            if p.startswith("- "):
                continue
            cls = ' class="warn"' if p.startswith("**") else ""
            parts.append(f"<p{cls}>{_inline(p)}</p>")
        if bullets:
            parts.append("<ul>" + "".join(f"<li>{_inline(b[2:])}</li>" for b in bullets) + "</ul>")
        if s.header:
            parts.append("<table><thead><tr>" + "".join(f"<th>{html.escape(h)}</th>" for h in s.header)
                         + "</tr></thead><tbody>")
            for r in s.rows:
                parts.append("<tr>" + "".join(f"<td>{_inline(str(x))}</td>" for x in r) + "</tr>")
            parts.append("</tbody></table>")
        if s.image and s.image in images:
            data = base64.b64encode((Path(out) / s.image).read_bytes()).decode("ascii")
            alt = html.escape(s.caption or s.title or s.image)
            parts.append(f'<img alt="{alt}" src="data:image/png;base64,{data}">')
            if s.caption:
                parts.append(f'<p class="caption">{html.escape(s.caption)}</p>')
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"
