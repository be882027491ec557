"""Errors the quant Python package raises for bad user input."""


class QuantError(Exception):
    """Base class: a user-facing error with a message naming the problem."""


class ModelImportError(QuantError):
    """A checkpoint cannot be imported (unknown architecture, missing or
    malformed tensor, tokenizer that does not match the model)."""


class PolicyError(QuantError):
    """A policy file does not parse or does not match the model."""


class ToolError(QuantError):
    """An external tool (quant-opt, quant-compile) failed."""
