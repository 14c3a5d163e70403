"""A large, realistic clinic for benchmarks: ``manage.py seed_large``.

Staff, rooms, working hours, time off and closures, 100,000+ patients with medical
histories, about ten appointments per practitioner per working day over the period (past
ones completed, missed or cancelled; future ones booked or confirmed), consultations,
treatment courses with their weekly sessions, and the outbox rows all of these imply.

The big tables are written with PostgreSQL's COPY from an in-memory buffer, in one
transaction, then ANALYZEd. The ids are chosen here (above the current maximum) so that
rows can point at each other without a round trip per row.

Everything generated is marked: staff usernames start with ``large-``, patients are created
by the inactive ``large-seed`` account and rooms are called ``Suite NN``. The generator
refuses a database holding anything else unless told to add its clinic beside it, and
replaces its own earlier clinic when run again.
"""

from devdata.large.database import foreign_data, has_generated_data
from devdata.large.generator import generate, summary
from devdata.large.sizes import PASSWORD, USERNAME_PREFIX, Sizes

__all__ = ["PASSWORD", "USERNAME_PREFIX", "Sizes", "foreign_data", "generate", "has_generated_data", "summary"]
