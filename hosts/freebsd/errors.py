"""The one exception type the FreeBSD output parsers raise."""


class ParseError(Exception):
    """Output could not be read at all; the message names the line (1-based) when there is one."""

    def __init__(self, message: str, line: int | None = None) -> None:
        self.line = line
        super().__init__(f"line {line}: {message}" if line is not None else message)
