"""Subcommands of the ``toolkit`` CLI: one module each, each with ``register(subparsers)``."""
