"""The HTTP API: the app factory, one error->HTTP table, and routes per domain."""

from bayflow.api.app import create_app

__all__ = ["create_app"]
