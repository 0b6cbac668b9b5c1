"""Adapters that fill the ports: SQL storage, the LangChain responder, chat models, prompt files."""
