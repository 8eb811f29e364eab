"""Descent: a REST microservice for gradient-descent runs."""

__version__ = "0.1.0"
