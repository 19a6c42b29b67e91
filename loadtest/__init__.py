"""Load-run tooling: serve a stage under gunicorn, drive it with Locust (or wrk),
measure, report.

Each module does one of three jobs (or none: data and small helpers), never two:

running processes
    server.py          gunicorn serving one stage on 127.0.0.1, always stopped
    locust_process.py  Locust's command line (one builder) and a run with progress
    databases.py       copies, scratch databases, migrate and seed in a subprocess
    generators.py      wrk, or Locust, driving one URL for `measure_ceiling`

measuring
    probe.py           single timed requests: health, the idle-server probe (cold and
                       warm: every worker warmed), a page
    samples.py         every request of a Locust run (`Sample`), recorded and read
    written.py         what a stage's copy of the database holds after its run
    shape.py           a profile as the Locust LoadTestShape that drives the users
    stats.py           figures from samples: percentiles, the login burst, the cache
                       hit ratio, the writes audit
    depth.py           how one page's cost grows with the data, size by size
    ceiling.py         each endpoint against a trivial one on the same server, and
                       the CPU the server and the load generator used
    environment.py     the machine and database a report was made on
    provenance.py      the commit it was made at, and the files that decide its figures

rendering
    markdown.py        the one table helper and number format
    report.py          the replay's report.md, report.json and chart
    depth_report.py    `measure_pagination`'s report
    ceiling_report.py  `measure_ceiling`'s report

none of the three
    replay.py          `RunSettings` for a replay, and one stage's run, step by step,
                       each step a call to the modules above
    endpoints.py       the report rows' names, shared with the locustfile and tests
    profiles.py        named load profiles
    logins.py          which seeded account each virtual user logs in as: its own
    arguments.py       the types of the commands' options
    ceiling_settings.py, ceiling_urls.py
                       the project's settings and URLs plus the trivial endpoint,
                       for `measure_ceiling`'s servers only
    ceiling_locustfile.py, wrk_report.lua
                       the load generators' scripts for `measure_ceiling`

The commands (`management/commands/`) are `replay`, `measure_pagination` and
`measure_ceiling`. Only shape.py, samples.py's recorder and the locustfiles import
Locust, which patches threading with gevent on import: the rest is safe to import in a
Django process.
"""
