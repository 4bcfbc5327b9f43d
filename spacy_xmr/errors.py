"""Exceptions raised for bad user input: each message names the file, line or field and the fix."""


class SpacyXmrError(ValueError):
    """Base class of every error caused by bad input, config or model files."""


class InputFormatError(SpacyXmrError):
    """A corpus, ontology or config file does not have the documented format."""

    def __init__(self, path, message: str, line: int | None = None):
        where = f"{path}" if line is None else f"{path}, line {line}"
        super().__init__(f"{where}: {message}")
        self.path = path
        self.line = line


class ModelLoadError(SpacyXmrError):
    """A saved model directory is missing, partial, corrupt or of another format version."""


class ConfigError(SpacyXmrError):
    """A component or training setting has an invalid value."""


class ModelOutputError(SpacyXmrError):
    """A model answered with output that does not fit its input (e.g. fewer rankings than mentions): a model
    class or component subclass breaks its contract."""
