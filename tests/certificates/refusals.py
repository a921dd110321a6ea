"""What load_pfx says of a file it refuses: shared by the PKCS#12 and file-kind tests."""

import pytest

from certificates.pfx import load_pfx
from certificates.upload_errors import UploadError
from tests import pki


def refused(data: bytes, password: str = pki.DEFAULT_PASSWORD) -> UploadError:
    """The UploadError load_pfx raises for `data`; its message is what the user reads."""
    with pytest.raises(UploadError) as caught:
        load_pfx(data, password)
    assert str(caught.value) == caught.value.message
    return caught.value
