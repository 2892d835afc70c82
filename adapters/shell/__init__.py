"""The shell adapter: a terminal where one person plays customers and agents."""

from adapters.shell.adapter import ShellAdapter

__all__ = ["ShellAdapter"]
