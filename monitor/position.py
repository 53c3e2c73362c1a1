"""position: where in a YAML file's text a token is, so an error can point at it. Pure.

PyYAML's marks give where a node starts (index, line and column, 0-based). Inside a scalar the
value is not the text: a folded (`>`) or plain scalar spanning lines joins them with spaces, a
literal (`|`) one drops their indentation, a quoted one has quotes and escapes. `value_spots` walks
the scalar's source and gives, for each character of the value that is not whitespace, the index of
the character it was read from; whitespace is what folding changes, so it is not mapped.
"""

from __future__ import annotations

import yaml


def line_column(text: str, index: int) -> tuple[int, int]:
    """1-based line and column of text[index]."""
    start = text.rfind("\n", 0, index) + 1
    return text.count("\n", 0, index) + 1, index - start + 1


def line_columns(text: str, indices: list[int]) -> list[tuple[int, int]]:
    """`line_column` of many indices, with the line starts found once (a query's every character:
    one scan of the file, not one per character)."""
    import bisect

    starts = [0] + [i + 1 for i, char in enumerate(text) if char == "\n"]
    found = []
    for index in indices:
        line = bisect.bisect_right(starts, index)
        found.append((line, index - starts[line - 1] + 1))
    return found


def line_text(text: str, line: int) -> str:
    """The line (1-based) without its line break; "" past the end."""
    lines = text.split("\n")
    return lines[line - 1].rstrip("\r") if 0 < line <= len(lines) else ""


def node_start(text: str, node: yaml.Node) -> tuple[int, int, str]:
    """Line, column and the line's text where a node starts."""
    line, column = node.start_mark.line + 1, node.start_mark.column + 1
    return line, column, line_text(text, line)


_LEFT_OPEN = ("while scanning a simple key", "while scanning a quoted scalar", "while parsing a flow sequence",
              "while parsing a flow mapping")


def error_spot(exc: yaml.MarkedYAMLError, text: str) -> tuple[int, int] | None:
    """Line and column of the token a YAML error is about.

    The problem mark is where the parser gave up, which is the token at fault (a key indented too
    far or too little, a tab), except where the fault is something left open: a line that is neither
    key nor item ("while scanning a simple key"), a quote or a bracket never closed. Those are
    blamed where the parser gave up looking for the ':' or the closing quote or bracket, often the
    next line or the end of the file, so their context mark, where they begin, is the token. And
    "mapping values are not allowed here" points at the ':' of a key indented too far, read as more
    of the plain value above: the key is the word before that ':'."""
    if exc.context_mark is not None and (exc.context or "").startswith(_LEFT_OPEN):
        mark = exc.context_mark
    else:
        mark = exc.problem_mark or exc.context_mark
    if mark is None:
        return None
    index = mark.index
    if (exc.problem or "").startswith("mapping values are not allowed") and 0 < index <= len(text):
        start = index
        while start > 0 and text[start - 1] not in " \t\n\r":
            start -= 1
        if start < index:
            index = start
    return line_column(text, index) if 0 <= index <= len(text) else (mark.line + 1, mark.column + 1)


def value_spots(text: str, node: yaml.ScalarNode, value: str) -> list[int | None] | None:
    """For each character of value (the node's constructed string), the index in text it was read
    from, None for whitespace; None when the source does not read back as value (then only the
    node's start is known)."""
    start, end = node.start_mark.index, node.end_mark.index
    if node.style in ("|", ">"):
        # the header (indicators and perhaps a comment) ends its line; the content is the lines below
        body = text.find("\n", start, end)
        read = [] if body < 0 else [(c, i) for i, c in enumerate(text[body + 1:end], start=body + 1)]
    elif node.style == "'":
        read = _single_quoted(text, start + 1, end - 1)
    elif node.style == '"':
        read = _double_quoted(text, start + 1, end - 1)
    else:
        read = [(c, i) for i, c in enumerate(text[start:end], start=start)]
    read = [(c, i) for c, i in read if not c.isspace()]
    wanted = [c for c in value if not c.isspace()]
    if [c for c, _ in read[:len(wanted)]] != wanted:
        return None
    found = iter(i for _, i in read)
    return [None if c.isspace() else next(found) for c in value]


def _single_quoted(text: str, start: int, end: int) -> list[tuple[str, int]]:
    out, i = [], start
    while i < end:
        out.append((text[i], i))
        i += 2 if text.startswith("''", i) else 1  # '' is one quote
    return out


_ESCAPE_LENGTH = {"x": 2, "u": 4, "U": 8}


def _double_quoted(text: str, start: int, end: int) -> list[tuple[str, int]]:
    out, i = [], start
    while i < end:
        c = text[i]
        if c != "\\" or i + 1 >= end:
            out.append((c, i))
            i += 1
            continue
        code = text[i + 1]
        if code in "\r\n":  # an escaped line break: the line goes on, nothing is read
            i += 2
            continue
        if code in _ESCAPE_LENGTH:
            n = _ESCAPE_LENGTH[code]
            out.append((chr(int(text[i + 2:i + 2 + n], 16)), i))
            i += 2 + n
            continue
        decoded = yaml.SafeLoader.ESCAPE_REPLACEMENTS.get(code, code)
        out.append((decoded, i))
        i += 2
    return out
