"""The subcommands of ``audioclf`` (``python -m audioclf_lib``), one module each.

Every module here has the same shape: a docstring whose first line is the command's help,
``add_arguments(parser)`` and ``run(args) -> int`` (the exit status). Modules import only the
standard library at the top and the heavy parts (torch, pandas, the model) inside ``run``, so
that ``audioclf --help`` and argument errors answer at once. :mod:`audioclf_lib.cli` lists them.
"""
