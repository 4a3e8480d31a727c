"""The command line, ``audioclf`` (also ``python -m audioclf_lib``): a table of subcommands.

Every command goes through the same :class:`~audioclf_lib.predict.Predictor` as the notebooks and
the live demo. A bad file is reported on stderr with its reason and the batch goes on; the exit
status is 1 when any input failed, 2 for usage errors (unknown model, missing folder), 130 on Ctrl-C.

Each subcommand is a module with ``add_arguments(parser)`` and ``run(args)`` whose first docstring
line is its help (:mod:`audioclf_lib.commands`); the parser imports those light modules only, so
``audioclf --help`` never waits for torch.
"""
from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from . import __version__
from .commands.common import UsageError, collect_audio_files

__all__ = ["COMMANDS", "build_parser", "main", "collect_audio_files", "UsageError"]

#: subcommand -> module with add_arguments(parser) and run(args), in the order ``--help`` lists them.
COMMANDS = {
    "models": "audioclf_lib.commands.models",
    "classify": "audioclf_lib.commands.classify",
    "evaluate": "audioclf_lib.commands.evaluate",
    "evaluate-segments": "audioclf_lib.commands.evaluate_segments",
    "record": "audioclf_lib.commands.record",
    "finetune": "audioclf_lib.commands.finetune",
    "corpus": "audioclf_lib.corpus.command",
    "export-onnx": "audioclf_lib.commands.export_onnx",
    "bench": "audioclf_lib.commands.bench",
}


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every subcommand of :data:`COMMANDS` (an import error in one is not hidden).

    Command line: audioclf
    """
    parser = argparse.ArgumentParser(prog="audioclf", description="Music / speech / noise classification.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="{" + ",".join(COMMANDS) + "}")
    for name, module_name in COMMANDS.items():
        module = importlib.import_module(module_name)
        summary = (module.__doc__ or name).strip().splitlines()[0]
        p = sub.add_parser(name, help=summary, description=summary)
        module.add_arguments(p)
        p.set_defaults(func=module.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Parse ``argv`` (default: ``sys.argv[1:]``) and run the chosen subcommand; returns the exit status.

    Command line: audioclf (the console script) and ``python -m audioclf_lib``
    """
    args = build_parser().parse_args(argv)
    from .checkpoint import CheckpointError

    try:
        return int(args.func(args) or 0)
    except (UsageError, CheckpointError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
