"""Types for the options of the `manage.py` commands (`type=` in `add_argument`).

Each turns the text of an option into its value, or raises ArgumentTypeError with a
message that says what is wrong; Django shows it as a CommandError, never a traceback.
Options with a fixed list of plain values use `choices=` instead.
"""

import argparse

from stages import STAGES

from . import profiles


def _number(value: str, convert, what: str):
    try:
        return convert(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not {what}") from None


def non_negative_int(value: str) -> int:
    number = _number(value, int, "a whole number")
    if number < 0:
        raise argparse.ArgumentTypeError(f"{number} is negative; use 0 or more")
    return number


def positive_int(value: str) -> int:
    number = non_negative_int(value)
    if number == 0:
        raise argparse.ArgumentTypeError("must be at least 1")
    return number


def non_negative_float(value: str) -> float:
    if _number(value, float, "a number") < 0:
        raise argparse.ArgumentTypeError("must be 0 or more")
    return float(value)


def ratio(value: str) -> float:
    if not 0 <= _number(value, float, "a number") <= 1:
        raise argparse.ArgumentTypeError("must be between 0 and 1, e.g. 0.01 for 1 %")
    return float(value)


def milliseconds(value: str) -> float:
    if _number(value, float, "a number of milliseconds") <= 0:
        raise argparse.ArgumentTypeError("must be more than 0 ms")
    return float(value)


def duration(value: str) -> float:
    """Seconds, from 90, 90s, 2m or 1h30m."""
    try:
        return profiles.parse_duration(value)
    except profiles.ProfileError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def profile_name(value: str) -> str:
    # Not `choices=`: this message also says where the profiles are described.
    if value not in profiles.PROFILES:
        raise argparse.ArgumentTypeError(
            f"unknown profile {value!r}; profiles: {', '.join(profiles.PROFILES)}"
        )
    return value


def comma_list(value: str) -> list[str]:
    """The non-blank items of a comma-separated list."""
    return [item.strip() for item in value.split(",") if item.strip()]


def known_names(value: str, known, *, what: str, listed: str) -> list[str]:
    """The comma-separated names in `value`, each one of `known`; else an error that
    lists them ("unknown <what> ...; <listed>: ...")."""
    names = comma_list(value)
    unknown = [name for name in names if name not in known]
    if unknown or not names:
        raise argparse.ArgumentTypeError(
            f"unknown {what} {', '.join(map(repr, unknown)) or '(none given)'}; "
            f"{listed}: {', '.join(known)}"
        )
    return names


def stage_list(value: str) -> list[str]:
    return known_names(value, STAGES, what="stage", listed="valid stages")


# measure_pagination's own types import depth.py (and the models) when called, so
# that the seeder, which shares this module, loads none of the measuring code.


def paged_stage_list(value: str) -> list[str]:
    """Stages whose lists come a page at a time, each once, in the order given."""
    from .depth import PAGED_STAGES

    names = stage_list(value)
    unpaged = [name for name in names if name not in PAGED_STAGES]
    if unpaged:
        raise argparse.ArgumentTypeError(
            f"stage {', '.join(map(repr, unpaged))} serves every row at once, with no deep "
            f"page to measure; use {', '.join(PAGED_STAGES)}"
        )
    return list(dict.fromkeys(names))


def size_list(value: str) -> list[int]:
    """Numbers of posts, each more than a page, smallest first, each once."""
    from .depth import PAGE_SIZE

    sizes = set()
    for item in comma_list(value):
        size = _number(item, int, "a whole number of posts")
        if size <= PAGE_SIZE:
            raise argparse.ArgumentTypeError(
                f"{size} posts fit on one page; a deep page needs at least {PAGE_SIZE + 1} posts"
            )
        sizes.add(size)
    if not sizes:
        raise argparse.ArgumentTypeError("no size given, e.g. 5000,100000")
    return sorted(sizes)


# measure_ceiling's own types import ceiling.py when called, for the same reason.


def ceiling_endpoint_list(value: str) -> list[str]:
    """Endpoints `measure_ceiling` knows, each once, in the order given."""
    from .ceiling import ENDPOINTS

    names = known_names(value, ENDPOINTS, what="endpoint", listed="endpoints")
    return list(dict.fromkeys(names))


def server_list(value: str) -> list:
    """gunicorn setups (`ceiling.ServerConfig`), each once, in the order given."""
    from .ceiling import ServerConfig

    try:
        configs = [ServerConfig.parse(item) for item in comma_list(value)]
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None
    if not configs:
        raise argparse.ArgumentTypeError("no server setup given, e.g. sync:2,gthread:2x4")
    return list(dict.fromkeys(configs))
