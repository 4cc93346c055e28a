"""One exception type for every problem with the user's input.

The CLI catches `InputError` and prints its message as a single line with a non-zero exit, so the
message must name the field (or file and line) and say what is allowed.
"""


class InputError(Exception):
    """Bad configuration, override or data file; the message is shown to the user as one line."""
