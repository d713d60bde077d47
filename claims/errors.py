"""The one exception the verifier raises for unusable input (exit status 2, one line, no traceback)."""

from __future__ import annotations


class InputError(Exception):
    """Unusable input: ``file`` (a name) and ``path`` (a JSON path such as ``$[0].results[3].alpha``)."""

    def __init__(self, file: str, path: str, message: str):
        self.file, self.path, self.message = file, path, message
        where = f"{file}: {path}: " if path else f"{file}: "
        super().__init__(f"{where}{message}")
