"""Turn a replay's raw samples into figures per stage and endpoint (report.py renders them).

The figures are computed from every request's own timing (see samples.py), not from
Locust's rounded buckets, with one rule that keeps them honest: a login costs ~200 ms
of CPU with Django's real password hasher, so while logins are in flight (the burst
when users arrive) the server is busy hashing and every other request waits. Those
requests would put the login burst into the tail of every endpoint. So:

- logins get their own row (LOGIN), with every login in it;
- every other row leaves out the requests that finished while a login was in flight
  (their response time includes the wait behind the hashing), and its RPS is over the
  time no login was running; how many requests were set apart is reported.

A request that started during the burst and finished after it counts: at a slow stage
such requests take many seconds, nearly all of it queueing behind each other, and
leaving them out would leave the stage with no figures at all.
"""

import math
from bisect import bisect_left

from .endpoints import CREATED_BY, LOGIN
from .samples import Sample


def percentile(sorted_values: list[float], pct: float) -> float | None:
    """Nearest-rank percentile of already sorted values."""
    if not sorted_values:
        return None
    rank = max(1, math.ceil(pct / 100 * len(sorted_values)))
    return sorted_values[rank - 1]


def _merge(intervals):
    merged = []
    for start, end in sorted(intervals):
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    return merged


def _overlaps(merged, starts, start, end) -> bool:
    """Does [start, end] overlap any of the merged, sorted, disjoint intervals?"""
    i = bisect_left(starts, end) - 1  # the last interval that starts before `end`
    return i >= 0 and merged[i][1] > start


def _figures(samples: list[Sample], seconds: float) -> dict:
    durations = sorted(s.ms for s in samples)
    queries = [s.queries for s in samples if s.queries is not None]
    return {
        "requests": len(samples),
        "failures": sum(1 for s in samples if s.failed),
        "rps": round(len(samples) / seconds, 2) if seconds > 0 else 0.0,
        "p50_ms": _round(percentile(durations, 50)),
        "p95_ms": _round(percentile(durations, 95)),
        "p99_ms": _round(percentile(durations, 99)),
        "queries_per_request": round(sum(queries) / len(queries), 1) if queries else None,
    }


def _round(value):
    return None if value is None else round(value, 1)


def summarize(samples: list[Sample]) -> dict:
    """Figures per endpoint for one stage's run, the login burst set apart."""
    if not samples:
        return {
            "endpoints": {},
            "requests": 0,
            "failures": 0,
            "fail_ratio": 0.0,
            "duration_s": 0.0,
            "steady_s": 0.0,
            "set_apart_during_logins": 0,
        }
    run_start = min(s.start for s in samples)
    run_end = max(s.end for s in samples)
    merged = _merge((s.start, s.end) for s in samples if s.name == LOGIN)
    starts = [interval[0] for interval in merged]
    login_time = sum(end - start for start, end in merged)
    steady_seconds = max(run_end - run_start - login_time, 1e-9)

    by_endpoint: dict[str, list[Sample]] = {}
    set_apart = 0
    for sample in samples:
        if sample.name != LOGIN and _overlaps(merged, starts, sample.end, sample.end):
            set_apart += 1
            continue
        by_endpoint.setdefault(sample.name, []).append(sample)

    endpoints = {
        name: _figures(rows, run_end - run_start if name == LOGIN else steady_seconds)
        for name, rows in sorted(by_endpoint.items())
    }
    failures = sum(1 for s in samples if s.failed)
    return {
        "endpoints": endpoints,
        "requests": len(samples),
        "failures": failures,
        "fail_ratio": round(failures / len(samples), 4),
        "duration_s": round(run_end - run_start, 1),
        "steady_s": round(steady_seconds, 1),
        "set_apart_during_logins": set_apart,
    }


def audit_writes(samples: list[Sample], *, before: dict, after: dict) -> dict:
    """Nothing lost: rows the database gained against the 201s the load counted, and
    every 5xx. `before`/`after` are /api/health/ counts around the run."""
    audit = {}
    for table, endpoint in CREATED_BY.items():
        created = after[table] - before[table]
        confirmed = sum(1 for s in samples if s.name == endpoint and s.status == 201)
        audit[table] = {"created": created, "201s": confirmed}
    audit["5xx"] = sum(1 for s in samples if s.status >= 500)
    audit["ok"] = audit["5xx"] == 0 and all(
        audit[table]["created"] == audit[table]["201s"] for table in CREATED_BY
    )
    return audit


def add_ratios(stages: dict) -> None:
    """Give each endpoint its ratios to the previous stage: p95 (how many times lower)
    and RPS (how many times higher)."""
    previous = None
    for result in stages.values():
        for name, figures in result["endpoints"].items():
            before = previous["endpoints"].get(name) if previous else None
            figures["vs_previous"] = (
                {
                    "p95_times_lower": _ratio(before["p95_ms"], figures["p95_ms"]),
                    "rps_times_higher": _ratio(figures["rps"], before["rps"]),
                }
                if before
                else None
            )
        previous = result


def _ratio(numerator, denominator):
    if not numerator or not denominator:
        return None
    return round(numerator / denominator, 2)


def breaches(stages: dict, *, max_fail_ratio=None, max_p95=None) -> list[str]:
    """What broke a threshold, or lost a write, one line each."""
    found = []
    for stage, result in stages.items():
        writes = result.get("writes")
        if writes and not writes["ok"]:
            found.append(
                f"{stage}: writes audit failed: posts {writes['posts']['created']} created, "
                f"{writes['posts']['201s']} 201s; comments {writes['comments']['created']} "
                f"created, {writes['comments']['201s']} 201s; {writes['5xx']} 5xx responses"
            )
        if max_fail_ratio is not None and result["fail_ratio"] > max_fail_ratio:
            found.append(
                f"{stage}: {result['fail_ratio']:.2%} of requests failed "
                f"(--max-fail-ratio {max_fail_ratio})"
            )
        if max_p95 is not None:
            for name, figures in result["endpoints"].items():
                if name != LOGIN and figures["p95_ms"] is not None and figures["p95_ms"] > max_p95:
                    found.append(
                        f"{stage}: {name} p95 {figures['p95_ms']:.0f} ms (--max-p95 {max_p95:g})"
                    )
    return found
