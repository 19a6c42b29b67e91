"""Which seeded account each virtual user logs in as: one of its own, never shared.

Two users on one account would share its token (the API gives an account one token),
and 50 users on 20 accounts would not be the load of 50 people. So each running user
holds an account of its own, and a load that needs more accounts than are seeded is
refused with the command that seeds them (`replay` adds them to its copies instead).

With several load processes (`--processes`), process k of P hands out every P-th
account from user<k+1>, so that no two processes hand out the same one. Locust spreads
the users over its processes evenly (within one), so U users on P processes need
ceil(U / P) accounts in each process: `needed`.

This module imports no Locust, so that `replay` can plan the accounts too.
"""

import heapq
from collections.abc import Iterable


def needed(users: int, processes: int = 1) -> int:
    """Seeded accounts for `users` users at once on `processes` load processes."""
    processes = max(processes, 1)
    return -(-users // processes) * processes


def numbers(seeded: int, *, process: int, processes: int) -> range:
    """The account numbers load process `process` (from 0) of `processes` may hand
    out, when user1 ... user<seeded> exist."""
    return range(process + 1, seeded + 1, max(processes, 1))


def seed_command(count: int) -> str:
    """The command that makes user1 ... user<count> exist, adding nothing else."""
    return f"python manage.py seed_posts --users {count} --posts 0 --comments 0"


def plan(*, users: int, processes: int, seeded: int) -> dict:
    """How many accounts a load of `users` users needs, how many are seeded, and how
    many a copy of the database must be given, as a report records it."""
    count = needed(users, processes)
    return {"users": users, "needed": count, "seeded": seeded, "added": max(count - seeded, 0)}


class Pool:
    """The accounts one load process may hand out: a user takes the lowest free one when
    it starts and gives it back when it stops, so no two running users share one."""

    def __init__(self, accounts: Iterable[int] = ()):
        self.fill(accounts)

    def fill(self, accounts: Iterable[int]) -> None:
        """Hand out `accounts` from now on (a new test starts with every one free)."""
        self._free = sorted(accounts)

    def take(self) -> int | None:
        """The lowest free account, now taken; None when every one is in use."""
        return heapq.heappop(self._free) if self._free else None

    def give_back(self, account: int) -> None:
        heapq.heappush(self._free, account)

    def __len__(self) -> int:
        return len(self._free)
