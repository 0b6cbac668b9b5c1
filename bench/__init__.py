"""Kopichat's benchmark: Kopichat against the plain LangChain baseline, side by side in one run.

`python -m bench` (full, writes docs/benchmarks.md) and `python -m bench --quick` (under 60 s).
Nothing here is part of the product; the baseline app lives here and nowhere else.
"""
