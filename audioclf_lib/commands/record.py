"""record labelled clips from a microphone into data/devices/<name>/<class>/"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .common import UsageError

__all__ = ["add_arguments", "run"]


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Add the options of ``audioclf record`` to ``p``: device name, class, clips, length, input.

    Command line: audioclf record

    Parameters
    ----------
    p : argparse.ArgumentParser
        The subcommand's parser (:func:`audioclf_lib.cli.build_parser`).
    """
    p.add_argument("name", help="a name for your device, e.g. my-laptop (becomes the folder name)")
    p.add_argument("--class", dest="class_name", required=True, help="what you are recording: music, noise, speech")
    p.add_argument("--clips", type=int, default=10, help="clips to record, back to back (default 10)")
    p.add_argument("--seconds", type=float, default=5.0, help="length of each clip (default 5, the models' window)")
    p.add_argument("--input", default=None, help="input device name or index (default: the system's default microphone)")
    p.add_argument("--sr", type=int, default=16_000, help="sample rate to record at (default 16000)")
    p.add_argument("--root", help="where device folders live (default: $AUDIOCLF_DEVICES or data/devices)")


def run(args: argparse.Namespace) -> int:
    """Run ``audioclf record`` on the ``args`` that :func:`add_arguments` defines.

    Command line: audioclf record

    Returns
    -------
    int
        Exit status: 0, or 1 when no microphone can be opened or recording failed.

    Raises
    ------
    UsageError
        Bad arguments (exit status 2 through :func:`audioclf_lib.cli.main`).
    """
    from ..devices import devices_dir
    from ..recorder import RecorderError, check_folder_name, count_clips, device_folder, record_clips
    from ..soundio import input_device_status

    if args.input is not None and args.input.isdigit():
        args.input = int(args.input)  # a device index, as `python -m sounddevice` lists them
    available, why = input_device_status(args.input)
    if not available:
        print(f"error: cannot record: {why}", file=sys.stderr)
        return 1
    try:
        folder = device_folder(Path(args.root) if args.root else devices_dir(), args.name)
        target = folder / check_folder_name(args.class_name, "class_name")
        print(f"recording {args.clips} clip(s) of {args.seconds:g} s of {args.class_name!r} from {why} into "
              f"{target} (Ctrl-C stops; the clips already written stay)", flush=True)
        record_clips(args.clips, folder, args.class_name, seconds=args.seconds, sr=args.sr, device=args.input,
                     on_progress=lambda k, n, path: print(f"  {k}/{n} {path}", flush=True))
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    except RecorderError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    counts = count_clips(folder, [d.name for d in sorted(folder.iterdir()) if d.is_dir()])
    print(f"{folder} now holds {counts}; when every class has a few clips: audioclf finetune {folder}")
    return 0
