"""Uploads stay in memory and never touch the disk, whatever their size.

A PFX holds a private key: Django's default handler would spool a large upload to a temporary
file. This handler keeps at most FILE_UPLOAD_MAX_MEMORY_SIZE bytes of a file; past that it only
counts, so the form can say how large the file was instead of "no file was submitted".
"""

from io import BytesIO

from django.conf import settings
from django.core.files.uploadedfile import InMemoryUploadedFile
from django.core.files.uploadhandler import FileUploadHandler


class BoundedMemoryUploadHandler(FileUploadHandler):
    def new_file(self, *args, **kwargs):
        super().new_file(*args, **kwargs)
        self.buffer = BytesIO()
        self.received = 0

    def receive_data_chunk(self, raw_data, start):
        self.received += len(raw_data)
        if self.received <= settings.FILE_UPLOAD_MAX_MEMORY_SIZE:
            self.buffer.write(raw_data)
        return None

    def file_complete(self, file_size):
        self.buffer.seek(0)
        return InMemoryUploadedFile(
            file=self.buffer,
            field_name=self.field_name,
            name=self.file_name,
            content_type=self.content_type,
            size=self.received,  # the real size, even when the content was not kept
            charset=self.charset,
            content_type_extra=self.content_type_extra,
        )
