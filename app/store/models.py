"""Every table Sawmill stores, registered on SQLModel.metadata.

Each area keeps its tables in its own module; this one imports them all so
that Alembic sees the whole schema.
"""

from app.store.scans import ModuleResult, Scan  # noqa: F401
from app.store import jobs, tokens  # noqa: F401  (api tokens, auth secret, the job queue)
from app.store import history  # noqa: F401  (migration history: events, state, branches)
from app.store import audit, progress  # noqa: F401  (progress document, audit log)
from app.store import reports  # noqa: F401  (chainsaw reports from CI, their tests)
