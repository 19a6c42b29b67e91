"""Turn a replay's raw samples into figures per stage and endpoint (report.py renders them).

The figures are computed from every request's own timing (see samples.py), not from
Locust's rounded buckets, with one rule that keeps them honest: a login costs hundreds
of ms of CPU with Django's real password hasher (benchmarks/login_cpu.py), so while
logins are in flight (the burst when users arrive) the server is busy hashing and
every other request waits. Those
requests would put the login burst into the tail of every endpoint. So:

- logins get their own row (LOGIN), with every login in it;
- every other row leaves out the requests that started or finished while a login was
  in flight (their response time includes the wait behind the hashing), and its RPS
  is over the time no login was running; how many requests were set apart is reported.

Started, too: with one thread per worker, a request that arrives during the burst
waits in line behind the logins ahead of it and finishes just after the last of them,
so "finished during a login" alone let the burst into the tail. A request that starts
once the burst is over counts, however slow, so even the slowest stage keeps figures.

Besides the timings: a cached stage's hit ratio (`cache_outcomes`), and the writes
audit (`audit_writes`), which checks every write's answer against the rows the stage's
database holds after the run.
"""

import math
from bisect import bisect_left
from collections import Counter
from typing import NamedTuple

from .endpoints import CREATE_COMMENT, CREATE_POST, DELETE_POST, EDIT_POST, LOGIN
from .samples import Sample


class Held(NamedTuple):
    """What the stage's database holds after the run, of the rows its writes created or
    targeted (written.py reads it), for the writes audit."""

    posts: dict[int, str]  # post id -> its title, for the posts that exist
    comments: dict[int, int]  # comment id -> its post's id, for the comments that exist
    orphans: int  # comments, of the whole table, whose post does not exist


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
        "cache": cache_outcomes(samples),
    }


def cache_outcomes(samples: list[Sample]) -> dict | None:
    """Hits, misses and errors of a cached stage's responses (Server-Timing's `cache`
    metric), and the hit ratio: hits / (hits + misses), an error (the cache did not
    answer) counted apart. None when no response had the metric."""
    outcomes = Counter(s.cache for s in samples if s.cache is not None)
    if not outcomes:
        return None
    hits, misses = outcomes["hit"], outcomes["miss"]
    return {
        "hits": hits,
        "misses": misses,
        "errors": outcomes["error"],
        "hit_ratio": round(hits / (hits + misses), 4) if hits + misses else None,
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
            "cache": None,
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
        during = _overlaps(merged, starts, sample.start, sample.start) or _overlaps(
            merged, starts, sample.end, sample.end
        )
        if sample.name != LOGIN and during:
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
        "cache": cache_outcomes(samples),
    }


def audit_writes(samples: list[Sample], *, before: dict, after: dict, held: Held) -> dict:
    """Nothing lost, nothing back, nothing half-done: every write's answer against the
    rows the stage's database holds after the run (`held`, see written.py), and every
    5xx. `before`/`after` are /api/health/ counts around the run.

    - a post answered 201 exists, unless this run deleted it with a 204 ("lost");
    - a post answered 204 does not ("back");
    - a post holds the title of its last edit answered 200, or the one it was created
      with ("stale");
    - a comment answered 201 exists, unless its post was deleted ("lost");
    - no comment points at a missing post ("orphans");
    - each table gained exactly the rows the 201s account for ("unexplained").

    A write that got no answer at all (status 0) may or may not have happened, so the
    post it targeted, and the comments on it, are not checked.
    """
    created: dict[int, Sample] = {}
    changes: dict[int, list[Sample]] = {}  # post id -> its edits and deletes, in order
    comments: list[Sample] = []
    for sample in sorted(samples, key=lambda s: s.start):
        if sample.name == CREATE_POST and sample.status == 201 and sample.id is not None:
            created[sample.id] = sample
        elif sample.name in (DELETE_POST, *EDIT_POST) and sample.id is not None:
            changes.setdefault(sample.id, []).append(sample)
        elif sample.name == CREATE_COMMENT and sample.status == 201:
            comments.append(sample)

    def answered(post_id, status, names):
        return any(s.status == status and s.name in names for s in changes.get(post_id, ()))

    deleted = {post_id for post_id in changes if answered(post_id, 204, (DELETE_POST,))}
    unknown = {post_id for post_id in changes if answered(post_id, 0, (DELETE_POST, *EDIT_POST))}
    maybe_gone = deleted | unknown
    kept = [post_id for post_id in created if post_id not in maybe_gone]
    posts = {
        "201s": _count(samples, CREATE_POST, 201),
        "200s": sum(_count(samples, name, 200) for name in EDIT_POST),
        "204s": _count(samples, DELETE_POST, 204),
        "gained": after["posts"] - before["posts"],
        "lost": [post_id for post_id in kept if post_id not in held.posts],
        "back": sorted(post_id for post_id in deleted if post_id in held.posts),
        "stale": [
            post_id
            for post_id in kept
            if post_id in held.posts
            and (title := _title(created[post_id], changes)) is not None
            and held.posts[post_id] != title
        ],
        "unexplained": after["posts"] - before["posts"] - len(created.keys() & held.posts.keys()),
    }
    comments_held = [c for c in comments if c.id in held.comments]
    audit = {
        "posts": posts,
        "comments": {
            "201s": len(comments),
            "gone_with_post": sum(1 for c in comments if c.post in maybe_gone),
            "gained": after["comments"] - before["comments"],
            "lost": [
                c.id for c in comments if c.id not in held.comments and c.post not in maybe_gone
            ],
            "orphans": held.orphans,
            "unexplained": after["comments"] - before["comments"] - len(comments_held),
        },
        "5xx": sum(1 for s in samples if s.status >= 500),
    }
    audit["ok"] = not audit_problems(audit)
    return audit


def _count(samples: list[Sample], name: str, status: int) -> int:
    return sum(1 for s in samples if s.name == name and s.status == status)


def _title(created: Sample, changes: dict[int, list[Sample]]) -> str | None:
    """The title post `created` should hold: its last edit answered 200's, or its own."""
    edits = [s for s in changes.get(created.id, ()) if s.name in EDIT_POST and s.status == 200]
    return (edits[-1] if edits else created).wrote


def audit_problems(writes: dict) -> list[str]:
    """What the writes audit found wrong, a "what: which" phrase each; none when nothing is."""
    posts, comments = writes["posts"], writes["comments"]
    found = [
        f"{what}: {_ids(ids)}"
        for ids, what in (
            (posts["lost"], "posts answered 201 but missing"),
            (posts["back"], "posts deleted with a 204 but back"),
            (posts["stale"], "posts not holding their last edit answered 200"),
            (comments["lost"], "comments answered 201 but missing"),
        )
        if ids
    ]
    for table, figures in (("posts", posts), ("comments", comments)):
        if figures["unexplained"]:
            accounted = figures["gained"] - figures["unexplained"]
            found.append(
                f"{table}: the table gained {figures['gained']} rows, the 201s account for "
                f"{accounted}"
            )
    if comments["orphans"]:
        found.append(f"comments whose post is missing: {comments['orphans']}")
    if writes["5xx"]:
        found.append(f"5xx responses: {writes['5xx']}")
    return found


def _ids(ids: list[int], shown: int = 5) -> str:
    more = f" and {len(ids) - shown} more" if len(ids) > shown else ""
    return ", ".join(map(str, ids[:shown])) + more


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
    # Four significant digits: a stage 60 times slower is a ratio of 0.01667, which
    # two decimals would make 0.02 (50 times).
    return float(f"{numerator / denominator:.4g}")


def breaches(stages: dict, *, max_fail_ratio=None, max_p95=None) -> list[str]:
    """What broke a threshold, or lost a write, one line each."""
    found = []
    for stage, result in stages.items():
        writes = result.get("writes")
        if writes and not writes["ok"]:
            found.append(f"{stage}: writes audit failed: {'; '.join(audit_problems(writes))}")
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
