"""`make eval`: Kopichat's debate quality, measured through the running service over HTTP.

See docs/evaluation.md. The suites live in tests/eval/ (YAML); nothing here is imported by the
service itself.
"""
