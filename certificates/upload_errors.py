"""The errors an uploaded certificate file is refused with.

They sit apart from the modules that raise them (upload_kinds, facts, pfx) so that each of those
can import them without importing the others.
"""


class PfxError(ValueError):
    """A file that cannot be used; message says why and what to do instead."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


class CertificateError(PfxError):
    """A public certificate (for example a CA certificate) that cannot be used."""
