"""What goes wrong with a configuration: a setting refused (ConfigError, naming the variable),
several found in one look (ConfigErrors), or a service it names that did not answer
(Unreachable). Each one's text is one line for the operator, without secrets."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeVar

T = TypeVar("T")


class ConfigError(Exception):
    def __init__(self, variable: str, problem: str) -> None:
        super().__init__(f"{variable}: {problem}")
        self.variable = variable
        self.problem = problem


class ConfigErrors(ConfigError):
    """Several problems found in one look; the first is this error's own variable and text."""

    def __init__(self, errors: Sequence[ConfigError]) -> None:
        super().__init__(errors[0].variable, errors[0].problem)
        self.errors = tuple(errors)


def every(error: ConfigError) -> tuple[ConfigError, ...]:
    """Each problem an error stands for, one line apiece."""
    return error.errors if isinstance(error, ConfigErrors) else (error,)


class Problems:
    """Problems found so far. `read` gives a refused setting its default, so that one look
    goes on to find every problem instead of stopping at the first."""

    def __init__(self) -> None:
        self.found: list[ConfigError] = []

    def read(self, check: Callable[[], T], default: T) -> T:
        try:
            return check()
        except ConfigError as error:
            self.found.extend(every(error))
            return default

    def raise_any(self) -> None:
        if len(self.found) == 1:
            raise self.found[0]
        if self.found:
            raise ConfigErrors(self.found)


class Unreachable(Exception):
    """A service the configuration names did not answer: the network's trouble or the
    service's, not a setting's. The text says where it was asked and what to check."""


def unreachable(
    service: str, url: str, default_url: str, variable: str, why: BaseException | str
) -> ConfigError | Unreachable:
    """A failed connection to `service`: the operator's address is named when they set one
    (it may be wrong), unless the service was merely slow to answer (a timeout: trying again
    may do, so it is no configuration error, which a service manager would not restart); the
    platform's own address is never their setting's fault."""
    timed_out = isinstance(why, TimeoutError)
    if isinstance(why, BaseException):
        why = str(why) or type(why).__name__  # a timeout has no words of its own
    if url.rstrip("/") != default_url.rstrip("/") and not timed_out:
        return ConfigError(
            variable, f"cannot reach {service} at {url}: {why}; check the address in {variable}"
        )
    return Unreachable(
        f"cannot reach {service} at {url}: {why}; check this machine's network connection, "
        "DNS and any proxy or firewall in between"
    )
