"""The one exception type the CLI turns into a single line on stderr.

Anything the user can cause (a bad path, an empty question, a broken index) raises
`QaError` with a message that names the file or argument and says what to do. The CLI
prints it and exits non-zero; it never shows a traceback for these.
"""


class QaError(Exception):
    """A user-facing failure: the message is shown as is, on one line."""

    exit_code = 1


class IndexIncompatible(QaError):
    """The index on disk was built with other settings; the fix is a rebuild."""

    exit_code = 3


class QaUsageError(QaError):
    """Options or syntax that cannot be read as given: a usage error (exit 2)."""

    exit_code = 2
