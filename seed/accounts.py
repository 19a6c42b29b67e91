"""The seeded accounts, user1 ... userN, all with one password.

What the API, the load test and the seeder agree on. It imports neither Faker nor the
seeder, so serving the API (`/api/health/` counts these accounts) and the locustfile
(which logs in as them) load none of it.
"""

# Seeded accounts are user1 ... userN; nothing else is ever deleted by --reset.
USERNAME_PREFIX = "user"
USERNAME_REGEX = rf"^{USERNAME_PREFIX}[0-9]+$"
DEFAULT_PASSWORD = "password123"


def username(number: int) -> str:
    """The seeded account number `number`, from 1."""
    return f"{USERNAME_PREFIX}{number}"


def seeded_users():
    """The accounts the seeder creates and a load test logs in as."""
    # Imported here: the locustfile uses this module without setting Django up.
    from django.contrib.auth import get_user_model

    return get_user_model().objects.filter(username__regex=USERNAME_REGEX)
