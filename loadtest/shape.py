"""A load profile (profiles.py) as the Locust LoadTestShape that drives the users."""

from locust import LoadTestShape

from .profiles import Profile


class ProfileShape(LoadTestShape):
    """Runs its profile's steps in order, then stops the test; with
    `stop_at_fail_ratio`, stops early once that share of requests has failed."""

    abstract = True
    profile: Profile
    min_requests = 100  # don't judge a fail ratio on a handful of requests

    def tick(self):
        run_time = self.get_run_time()
        limit = self.profile.stop_at_fail_ratio
        if limit is not None:
            total = self.runner.stats.total
            if total.num_requests >= self.min_requests and total.fail_ratio > limit:
                return None  # failures appeared: the limit is found
        for step in self.profile.steps:
            if run_time < step.until:
                return step.users, step.spawn_rate
        return None


def shape_class(profile: Profile) -> type[ProfileShape]:
    """A concrete shape class for `profile`, for a locustfile's namespace."""
    return type(f"{profile.name.title()}Shape", (ProfileShape,), {"profile": profile})
