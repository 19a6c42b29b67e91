"""What a command that measures checks before it starts."""

from django.conf import settings
from django.core.management.base import CommandError


def refuse_profiling(doing: str) -> None:
    """Stop with a CommandError when django-silk is on (DJANGO_SILK=1): it records every
    request and query, and its own cost would be measured instead of the stages'.
    `doing` ends the message: "Unset it to <doing>."."""
    if settings.SILK_ENABLED:
        raise CommandError(
            "DJANGO_SILK=1 is set: silk records every request and query, and its own "
            f"overhead would be measured instead of the stages'. Unset it to {doing}."
        )
