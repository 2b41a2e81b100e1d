"""The documentation page: templates/docs.md rendered to HTML, then filled in for this server.

The source is a small Markdown subset: `#` headings, paragraphs, `> ` notes, pipe tables, fenced
code, inline `code` and [links](url). It is rendered once per process; per request the documented
origin (http://localhost:9090/) becomes the server's own and the {models} and {models_json} slots
get the catalog's models.
"""
import functools
import json
import re
from dataclasses import dataclass
from html import escape
from pathlib import Path

from markupsafe import Markup

SOURCE = Path(__file__).parent / "templates" / "docs.md"
DOCUMENTED_ORIGIN = "http://localhost:9090/"
MODELS_SLOT = "{models}"
MODELS_JSON_SLOT = "{models_json}"
LANGUAGES = {"python": "Python", "bash": "Shell", "javascript": "JavaScript", "json": "JSON"}
INLINE = re.compile(r"`([^`]+)`|\[([^\]]+)\]\(([^)\s]+)\)")
TABLE_RULE = re.compile(r"^[\s|:-]+$")


@dataclass(frozen=True)
class Page:
    title: str
    contents: tuple   # (id, text, level) of each h2 and h3
    body: Markup


def page(root_url, models):
    """The page as served at `root_url` (e.g. http://localhost:9090/) by a server offering `models`."""
    title, contents, body = rendered()
    body = (body.replace(MODELS_SLOT, models_table(models))
                .replace(MODELS_JSON_SLOT, escape(models_json(models)))
                .replace(escape(DOCUMENTED_ORIGIN), escape(root_url)))
    return Page(title, contents, Markup(body))


@functools.cache
def rendered():
    """(title, contents, body HTML) of the source, before it is filled in."""
    return render(SOURCE.read_text(encoding="utf-8"))


def render(text):
    title, anchors, seen, html = "", [], {}, []
    for kind, *data in blocks(text.splitlines()):
        if kind == "heading":
            level, heading = data
            if level == 1:
                title = heading
                continue
            anchor = slug(heading)
            seen[anchor] = seen.get(anchor, 0) + 1
            if seen[anchor] > 1:   # ids must be unique: "Request Parameters" comes twice
                anchor = f"{anchor}-{seen[anchor]}"
            anchors.append((anchor, heading, level))
            html.append(f'<h{level} id="{anchor}">{inline(heading)}</h{level}>')
        elif kind == "code":
            html.append(code_block(*data))
        elif kind == "table":
            html.append(table(data[0]))
        elif kind == "note":
            html.append(f'<p class="note">{inline(data[0])}</p>')
        elif data[0] in (MODELS_SLOT, MODELS_JSON_SLOT):
            html.append(data[0])
        else:
            html.append(f"<p>{inline(data[0])}</p>")
    contents = tuple(entry for entry in anchors if entry[2] <= 3)
    return title, contents, "\n".join(html)


def blocks(lines):
    """(kind, ...) for each block: a fence, or a run of non-blank lines."""
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.startswith("```"):
            end = lines.index("```", i + 1)
            yield "code", line[3:].strip(), "\n".join(lines[i + 1:end])
            i = end + 1
        elif line.startswith("#"):
            marks, _, heading = line.partition(" ")
            yield "heading", len(marks), heading.strip()
            i += 1
        elif not line.strip():
            i += 1
        else:
            end = i
            while end < len(lines) and lines[end].strip() and not lines[end].startswith(("```", "#")):
                end += 1
            yield run(lines[i:end])
            i = end


def run(lines):
    if lines[0].startswith("|"):
        return "table", lines
    if lines[0].startswith("> "):
        return "note", " ".join(line.removeprefix("> ") for line in lines)
    return "paragraph", " ".join(line.strip() for line in lines)


def inline(text):
    """Escaped text with `code` spans and [links](url)."""
    out, position = [], 0
    for match in INLINE.finditer(text):
        out.append(escape(text[position:match.start()]))
        if match[1] is not None:
            out.append(f"<code>{escape(match[1])}</code>")
        else:
            out.append(f'<a href="{escape(match[3])}">{escape(match[2])}</a>')
        position = match.end()
    out.append(escape(text[position:]))
    return "".join(out)


def code_block(language, code):
    name = LANGUAGES.get(language, language)
    return (f'<div class="code-block" data-copyable><div class="code-head"><span>{escape(name)}</span>'
            f'<button type="button" class="copy" aria-label="Copy the {escape(name)} code">Copy</button>'
            f'</div><pre><code class="language-{escape(language)}">{escape(code)}</code></pre></div>')


def table(lines):
    rows = [cells(line) for line in lines if not TABLE_RULE.match(line)]
    head = "".join(f"<th>{inline(cell)}</th>" for cell in rows[0])
    body = "".join("<tr>" + "".join(f"<td>{inline(cell)}</td>" for cell in row) + "</tr>"
                   for row in rows[1:])
    return f'<div class="table-wrap"><table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>'


def cells(line):
    return [cell.strip() for cell in line.strip().strip("|").split("|")]


def slug(text):
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def models_table(models):
    """The catalog's models and what each can do, as /v1/models describes them."""
    rows = []
    for model in models:
        can = model.card()["capabilities"]
        rows.append(f"<tr><td><code>{escape(model.id)}</code></td>"
                    f"<td>{'yes' if can['vision'] else 'no'}</td>"
                    f"<td>{'always' if can['thinking_forced'] else 'on request'}</td>"
                    f"<td>{'yes' if can['search'] else 'no'}</td></tr>")
    return ('<div class="table-wrap"><table class="models"><thead><tr><th>Model</th><th>Images</th>'
            f'<th>Thinking</th><th>Web search</th></tr></thead><tbody>{"".join(rows)}</tbody></table></div>')


def models_json(models):
    """The GET /v1/models answer, one model per line."""
    cards = ",\n    ".join(json.dumps(model.card(), ensure_ascii=False) for model in models)
    return f'{{\n  "object": "list",\n  "data": [\n    {cards}\n  ]\n}}'
