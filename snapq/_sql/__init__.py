"""The SQL path: a statement in, display SQL and a results table out.

``compile`` turns what an execution sent back into SQL with literal values,
``format`` pretty-prints it with sqlglot, ``execute`` runs the real statement in a
savepoint on the test's connection, ``statements`` logs what a block of code sends,
``result`` holds what came back, and ``render`` draws it as text. Nothing here
imports pytest or the snapshot layer.
"""
