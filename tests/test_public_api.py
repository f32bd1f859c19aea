"""The package's public surface: every name in __all__ exists, and nothing else is exported."""

from __future__ import annotations

import peacewatch


def test_all_names_resolve_and_are_sorted() -> None:
    assert peacewatch.__all__ == sorted(peacewatch.__all__)
    for name in peacewatch.__all__:
        assert getattr(peacewatch, name) is not None, name


def test_public_names_are_exactly_all() -> None:
    public = {name for name in vars(peacewatch) if not name.startswith("_")}
    modules = {name for name, value in vars(peacewatch).items() if type(value).__name__ == "module"}
    assert public - modules == set(peacewatch.__all__) - {"__version__"}


def test_errors_form_one_tree() -> None:
    for name in ("ConfigError", "FetchError", "ParseError", "StoreError", "RefusedURLError"):
        assert issubclass(getattr(peacewatch, name), peacewatch.PeacewatchError)
