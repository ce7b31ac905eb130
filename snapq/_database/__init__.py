"""The database layer: a PostgreSQL server, the run's databases, and per-test isolation.

``binaries`` finds PostgreSQL, ``embedded`` runs a private server (``datadir`` fills
its data directory, ``users`` decides whom it runs as, ``_watchdog`` (a script) stops it when the
run dies), ``run`` owns the run's directory, ``databases``, ``liveness`` and
``template`` make the template and each worker's copy, ``provision`` ties these
together for one process, ``isolation`` wraps each test in a transaction, ``libpq``
and ``urls`` are helpers, ``passfile`` keeps the external server's password out of
every connection string. Nothing here imports pytest or the snapshot layer.
"""
