"""Percentiles and medians."""


def percentile(ordered, q):
    """The q-th percentile (0..100) of sorted values, linearly interpolated; None when empty."""
    if not ordered:
        return None
    position = (len(ordered) - 1) * q / 100
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def distribution(values):
    """p50, p90, p99, max and mean of values, and the 101 percentiles (for the chart)."""
    ordered = sorted(values)
    if not ordered:
        return {"p50": None, "p90": None, "p99": None, "max": None, "mean": None, "percentiles": []}
    return {"p50": percentile(ordered, 50), "p90": percentile(ordered, 90),
            "p99": percentile(ordered, 99), "max": ordered[-1], "mean": sum(ordered) / len(ordered),
            "percentiles": [percentile(ordered, q) for q in range(101)]}


def brief(values):
    """p50, p90, p99, max, mean and the count of values, without the percentile vector."""
    found = distribution(values)
    del found["percentiles"]
    return {**found, "count": len(values)}


def median(values):
    """The median of the values that are not None; None when there are none."""
    present = sorted(v for v in values if v is not None)
    return percentile(present, 50) if present else None
