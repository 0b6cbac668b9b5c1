"""Language understanding: reading a first message, judging a reply, tidying a small model's
text. Imports only the domain (agent.domain); README.md in this folder says how it decides."""
