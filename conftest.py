"""Repository-wide pytest configuration: snapq's own tests drive pytest runs."""

pytest_plugins = ["pytester"]
