"""Check what users pass to ``assert_query`` and ``assert_queries``, before anything
runs or is recorded: a wrong argument fails with a ``TypeError`` that names it."""

from __future__ import annotations

from collections.abc import Callable, Collection

from snapq._snapshots.masks import Mask, masks_named


def check_ignore(ignore: Collection[str]) -> frozenset[str]:
    """Return the names to ignore, refusing a bare string (a common slip)."""
    if isinstance(ignore, str):
        msg = f"ignore= takes a list of names, e.g. ignore=[{ignore!r}], not a string"
        raise TypeError(msg)
    names = frozenset(ignore)
    wrong = sorted(repr(name) for name in names if not isinstance(name, str))
    if wrong:
        msg = f"ignore= takes names (strings), not {', '.join(wrong)}"
        raise TypeError(msg)
    return names


MaskArgument = Collection[str | Callable[[str], str | None]] | None


def check_mask(mask: MaskArgument) -> tuple[Mask, ...] | None:
    """Return the masks ``mask=`` names (None: the run's), refusing a bare string."""
    if mask is None:
        return None
    if isinstance(mask, str):
        msg = f"mask= takes a list of masks, e.g. mask=[{mask!r}], not a string"
        raise TypeError(msg)
    wrong = sorted(repr(item) for item in mask if not (isinstance(item, str) or callable(item)))
    if wrong:
        msg = (
            "mask= takes mask names ('uuid', 'now', 'module:function') or functions, "
            f"not {', '.join(wrong)}"
        )
        raise TypeError(msg)
    return masks_named(mask, "mask=")


def check_snapshots(function: str, **snapshots: object) -> None:
    """Refuse an inline snapshot that is not a string (or None, to record it)."""
    for name, value in snapshots.items():
        if value is not None and not isinstance(value, str):
            msg = (
                f"{function}'s {name}= takes the snapshot as a string (or nothing, to record "
                f"it), not {type(value).__name__}: {value!r:.60}"
            )
            raise TypeError(msg)


def check_max_queries(max_queries: object) -> None:
    if max_queries is not None and (
        isinstance(max_queries, bool) or not isinstance(max_queries, int) or max_queries < 0
    ):
        msg = f"max_queries= takes a whole number of 0 or more, not {max_queries!r}"
        raise TypeError(msg)
