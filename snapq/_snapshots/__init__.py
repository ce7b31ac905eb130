"""The snapshot path: compare text with snapshots, and record what is asked.

``compare`` decides by the record mode and fails with a diff, ``sections`` names
what a snapshot holds, ``locations`` finds a call in the test's source, ``inline``
rewrites source text (pure), ``recorder`` queues those edits and applies them once
at the end, and ``files`` is the syrupy extension for snapshot files. Nothing here
imports pytest or SQLAlchemy.
"""
