"""The REST face of Sigma Lab: a FastAPI app over the core package (see :func:`create_app`)."""

from api.app import create_app

__all__ = ["create_app"]
