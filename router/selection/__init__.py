"""Which models may answer: the route a request names, and the pure ranking of candidates."""

from router.selection.requested import (
    AUTO,
    DEFAULT_ROUTE,
    explicit_route,
    ranked_models,
    select_for,
)

__all__ = ["AUTO", "DEFAULT_ROUTE", "explicit_route", "ranked_models", "select_for"]
