"""Command-line flags shared by every command: the argument parser and the seed flag.

Bad flags end with one ``error:`` line on stderr and exit code 2, never a traceback.
"""

from __future__ import annotations

import argparse

from market.io.params import ParameterError, check_seed


class Parser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one line: ``error: ... (see 'PROG --help')``."""

    def error(self, message: str):  # one line and exit 2, like every bad input in this project
        self.exit(2, f"error: {message} (see '{self.prog} --help')\n")


def parse_seed(text: str) -> int:
    """A seed flag: ASCII digits, 0 to 2**63 - 1 (the same rule as a scenario's seed)."""
    try:
        return check_seed(str(text), "")
    except ParameterError as exc:
        raise argparse.ArgumentTypeError(str(exc).removeprefix("field 'seed' = ")) from None


def whole_number(minimum: int, flag: str = ""):
    """A flag type: a whole number >= ``minimum``; the message names ``flag`` if given."""
    shown = f"{flag} " if flag else ""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = minimum - 1
        if value < minimum:
            raise argparse.ArgumentTypeError(
                f"{shown}{text!r} is not allowed: expected a whole number >= {minimum}"
            )
        return value

    return parse
