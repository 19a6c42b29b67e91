"""Named load profiles: how many users, how fast they arrive, for how long.

A profile is a list of steps; `loadtest/shape.py` turns one into the Locust
`LoadTestShape` that drives the users. Shapes stay out of locustfile.py unless asked
for, because Locust uses any shape class it finds there and then ignores `-u`, `-r`
and `-t`:

    LOAD_PROFILE=spike locust                    # the web UI, driven by the spike shape
    LOAD_PROFILE=smoke locust --headless         # a 15 s check
    python manage.py replay --profile basic      # the same shapes, every stage

`LOAD_USERS` and `LOAD_RUN_TIME` (seconds, or 30s/2m/1h) rescale a profile: users in
proportion to its peak, times in proportion to its length.

This module does not import Locust (which patches threading with gevent on import),
so Django commands can read the profiles too.
"""

import os
import re
from dataclasses import dataclass, replace


@dataclass(frozen=True)
class Step:
    """Hold `users` (arriving at `spawn_rate` per second) until `until` seconds."""

    until: float
    users: int
    spawn_rate: float


@dataclass(frozen=True)
class Profile:
    """A named load profile.

    - steps: the Steps, in order of `until`; the run ends after the last;
    - stop_at_fail_ratio: end early once this share of requests has failed, after
      100 requests (None: never). The stress profile uses it to find the limit.
    """

    name: str
    description: str
    steps: tuple[Step, ...]
    stop_at_fail_ratio: float | None = None

    @property
    def peak_users(self) -> int:
        return max(step.users for step in self.steps)

    @property
    def run_time(self) -> float:
        return self.steps[-1].until


def _ramp(start, end, users_from, users_to, spawn_rate, every=10):
    """Steps that grow from `users_from` to `users_to` between `start` and `end` s."""
    count = max(1, int((end - start) // every))
    return tuple(
        Step(
            until=start + (end - start) * (i + 1) / count,
            users=round(users_from + (users_to - users_from) * (i + 1) / count),
            spawn_rate=spawn_rate,
        )
        for i in range(count)
    )


PROFILES = {
    profile.name: profile
    for profile in (
        # Short enough to replay every stage in a couple of minutes; long enough that
        # the login burst (the first seconds) is a small part of the run.
        Profile(
            "replay",
            "every user arrives within 2 s and stays to the end",
            (Step(40, 20, 10),),
        ),
        Profile("smoke", "a few users: does everything answer?", (Step(15, 3, 3),)),
        Profile("basic", "a steady, everyday load", (Step(120, 10, 2),)),
        Profile(
            "spike",
            "a steady load, a sudden tenfold jump, held, then back: does it recover?",
            (Step(15, 10, 10), Step(45, 100, 50), Step(60, 10, 50)),
        ),
        Profile(
            "endurance", "a steady load held long: leaks and slow drifts show", (Step(600, 20, 5),)
        ),
        Profile(
            "stress",
            "a ramp toward fifty times the starting users, until 5 % of requests fail",
            _ramp(0, 300, 10, 500, spawn_rate=10),
            stop_at_fail_ratio=0.05,
        ),
    )
}
DEFAULT_PROFILE = "replay"


class ProfileError(ValueError):
    """An unknown profile name, or an override that is not a positive number."""


def parse_duration(text: str) -> float:
    """Seconds from '90', '90s', '2m', '1h30m'."""
    match = re.fullmatch(r"\s*(?:(\d+)h)?\s*(?:(\d+)m)?\s*(?:(\d+(?:\.\d+)?)s?)?\s*", text or "")
    if not text or not match or not any(match.groups()):
        raise ProfileError(f"{text!r} is not a duration: use seconds or e.g. 30s, 2m, 1h")
    hours, minutes, seconds = match.groups()
    total = int(hours or 0) * 3600 + int(minutes or 0) * 60 + float(seconds or 0)
    if total <= 0:
        raise ProfileError(f"{text!r}: a run time must be longer than zero")
    return total


def build(name: str, *, users: int | None = None, run_time: float | None = None) -> Profile:
    """The profile `name`, rescaled to `users` at its peak and `run_time` in all."""
    try:
        base = PROFILES[name]
    except KeyError:
        raise ProfileError(
            f"Unknown load profile {name!r}. Profiles: {', '.join(PROFILES)}."
        ) from None
    if users is not None and users < 1:
        raise ProfileError(f"users must be at least 1, not {users}")
    user_scale = users / base.peak_users if users else 1
    time_scale = run_time / base.run_time if run_time else 1
    steps = tuple(
        Step(
            until=step.until * time_scale,
            users=max(1, round(step.users * user_scale)),
            spawn_rate=step.spawn_rate * user_scale,
        )
        for step in base.steps
    )
    return replace(base, steps=steps)


def from_environment() -> Profile:
    """The shape named by LOAD_PROFILE, rescaled by LOAD_USERS and LOAD_RUN_TIME.

    Stops Locust with a one-line message, not a traceback, when a value is wrong.
    """

    try:
        users = os.environ.get("LOAD_USERS")
        run_time = os.environ.get("LOAD_RUN_TIME")
        if users is not None and not users.isdigit():
            raise ProfileError(f"LOAD_USERS={users!r} is not a whole number")
        return build(
            os.environ["LOAD_PROFILE"],
            users=int(users) if users else None,
            run_time=parse_duration(run_time) if run_time else None,
        )
    except ProfileError as error:
        raise SystemExit(str(error)) from None
