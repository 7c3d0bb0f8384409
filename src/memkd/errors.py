"""One exception type for bad user input, so rule scripts can report it plainly."""


class InputError(ValueError):
    """Bad or inconsistent input. The message names the file, line, config key or package."""
