"""The errors an uploaded file is refused with: client certificates (.pfx), CA certificates and
any other kind of upload.

They sit apart from the modules that raise them (upload_kinds, facts, pfx, parsing) so that each
of those can import them without importing the others.
"""


class UploadError(ValueError):
    """A file that cannot be used; message says why and what to do instead."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


class CertificateError(UploadError):
    """A public certificate (for example a CA certificate) that cannot be used."""
