"""Command-line flags shared by every command: the argument parser and the seed flag.

Bad flags end with one ``error:`` line on stderr and exit code 2, never a traceback.
"""

from __future__ import annotations

import argparse


class Parser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one line: ``error: ... (see 'PROG --help')``."""

    def error(self, message: str):  # one line and exit 2, like every bad input in this project
        self.exit(2, f"error: {message} (see '{self.prog} --help')\n")


def parse_seed(text: str) -> int:
    """A seed flag: an integer >= 0 written in ASCII digits."""
    text = str(text).strip()
    if not (text.isascii() and text.isdigit()):
        raise argparse.ArgumentTypeError(f"seed {text!r} is not allowed: expected an integer >= 0")
    return int(text)
