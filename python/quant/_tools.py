"""Console-script entry points of an installed package (pyproject.toml):
each runs the tool of the same name (find_tool: the package's own _bin
first) with the same arguments and exit status."""

import os
import sys


def _exec(name):
    from . import find_tool
    tool = find_tool(name)
    os.execv(tool, [tool] + sys.argv[1:])


def quant_opt():
    _exec("quant-opt")


def quant_compile():
    _exec("quant-compile")


def quant_run():
    _exec("quant-run")
