"""Load-run tooling: serving a stage under gunicorn, and (next) replaying load against it."""
