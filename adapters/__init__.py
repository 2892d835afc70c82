"""Adapters translate one chat platform to and from the desk's commands."""
