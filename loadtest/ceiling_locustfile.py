"""Locust's side of `manage.py measure_ceiling`, for machines without wrk: users that
GET one path (CEILING_PATH) as fast as the server answers.

Each process writes its samples (samples.py) and the CPU seconds it spent between the
start and the stop of the load (generator-cpu-<pid>.json) into LOAD_SAMPLES_DIR. The
CPU is counted from the start of the load, not of the process: importing Locust costs
about a second, and the question is whether the generator kept up while it ran.
"""

import json
import os
import resource

from locust import FastHttpUser, constant, events, task

from loadtest import samples


class OneUrl(FastHttpUser):
    """Requests one path over and over, on a connection kept alive between them."""

    # No think time: the benchmark asks how many requests the server can answer.
    wait_time = constant(0)

    @task
    def get(self):
        self.client.get(os.environ["CEILING_PATH"])


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


_at_start = {}


@events.test_start.add_listener
def _count_from_here(**kwargs):
    _at_start["cpu"] = _cpu_seconds()


@events.test_stop.add_listener
def _write_cpu(**kwargs):
    folder = os.environ.get("LOAD_SAMPLES_DIR")
    if folder and "cpu" in _at_start:
        spent = _cpu_seconds() - _at_start.pop("cpu")
        with open(os.path.join(folder, f"generator-cpu-{os.getpid()}.json"), "w") as out:
            json.dump({"cpu_s": spent}, out)


samples.record_if_asked()
