"""Kopichat's core: the debate use case, its ports and the adapters that fill them.

Nothing in this package knows about HTTP; `api/` is one way in, a notebook is another.
"""
