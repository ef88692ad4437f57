"""Helpers the BENCHMARKS.md report scripts share (report.py and the
sections it imports): medians that skip missing values, size labels, and
column order."""
import statistics


def med(values):
    """The median of the values that are not None, or None."""
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def size_label(s):
    """20 B, 1 KiB, 16 MiB."""
    if s and s >= 2**20 and s % 2**20 == 0:
        return f"{s // 2**20} MiB"
    return f"{s // 1024} KiB" if s and s >= 1024 and s % 1024 == 0 else f"{s} B"


def ordered(names, known):
    """`known` first, in its order, then the others as met."""
    names = list(dict.fromkeys(names))
    return [s for s in known if s in names] + [s for s in names if s not in known]
