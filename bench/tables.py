"""Markdown formatting of figures: milliseconds, numbers, percentages, table rows."""


def ms(value, digits=2):
    return "–" if value is None else f"{value:,.{digits}f} ms"


def number(value, digits=0, unit=""):
    return "–" if value is None else f"{value:,.{digits}f}{unit}"


def percent(value):
    return "–" if value is None else f"{value * 100:.0f} %"


def table_row(cells):
    return "| " + " | ".join(cells) + " |"


def table(header, rows):
    """A whole table: the header row, the rule, then the rows (lists of cells)."""
    return "\n".join([table_row(header), table_row(["---"] * len(header))] + [table_row(row) for row in rows])


def figure(value):
    """Whole numbers without decimals, others with two."""
    if value is None:
        return "–"
    return number(value, 0 if float(value).is_integer() else 2)


def counts(tally):
    return ", ".join(f"{key} × {count:,}" for key, count in sorted(tally.items(), key=lambda kv: -kv[1])) or "–"
