"""Command line: parse, then dispatch to the command's module (harness.commands). Bad usage or input: one
line on stderr and exit 2."""

from __future__ import annotations

import argparse
import importlib
import os
import sys

from jacobian_harness.commands import COMMANDS
from jacobian_harness.commands.common import EXIT_FAIL, EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE, Parser, UsageError

__all__ = ["EXIT_FAIL", "EXIT_OK", "EXIT_USAGE", "UsageError", "build_parser", "main"]


def _module(name: str):
    return importlib.import_module(COMMANDS[name][0])


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(prog="jacobian-harness", description="Check and time every Jacobian method of PyTorch, "
                    "JAX, HIPS autograd, TensorFlow and finite differences on a library of cases.")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=Parser)
    for name, (_, summary) in COMMANDS.items():
        _module(name).add_arguments(commands.add_parser(name, help=summary))
    return parser


def main(argv: list[str] | None = None) -> int:
    from jacobian_harness.plugins import PluginError

    args = None
    try:
        args = build_parser().parse_args(argv)
        return _module(args.command).run(args)
    except (UsageError, PluginError) as exc:  # our input, or an installed plugin that failed to load
        print(f"jacobian-harness: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("jacobian-harness: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:  # `jacobian-harness list | head`: the reader left (a run's files are written by then)
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no second error at exit's flush
        return EXIT_OK if args is not None and args.command == "list" else EXIT_FAIL


if __name__ == "__main__":
    sys.exit(main())
