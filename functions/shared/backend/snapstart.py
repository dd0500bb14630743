"""What must be redone when Lambda resumes a function from a SnapStart snapshot.

Every environment resumed from one snapshot starts from the same memory, and so from the
same state of Python's `random`. The OpenTok SDK draws its token nonces and the ids (jti) of
the JWTs that sign its API requests from `random`: left alone, environments restored from
one snapshot would draw the same values. The rest of what a function makes while it starts
is safe to share: settings, compiled patterns, and boto3 clients, which open no connection
before their first call. Secrets are read on first use, never at start.
"""

import random


def reseed() -> None:
    random.seed()  # from os.urandom, different in every environment


def register() -> None:
    """Reseeds after every restore; does nothing where there are no snapshots."""
    try:
        from snapshot_restore_py import register_after_restore
    except ImportError:  # only Lambda's managed Python runtimes ship it
        return
    register_after_restore(reseed)
