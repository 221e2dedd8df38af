"""The checks every zip-packaged format (.docx, .epub) needs before its library reads it.

Both formats are zip archives, and both libraries (python-docx, ebooklib) report a bad
file with whatever exception their zip or XML layer raised. Checking the archive here
first gives each kind of bad file one plain reason, and keeps a small file that unpacks
to gigabytes (a zip bomb) from ever being inflated.
"""

from __future__ import annotations

import io
import zipfile

from qa.ingest.document import UnreadableDocument

# An OLE compound file: what Word writes for a password-protected .docx, and what an
# old binary .doc is; neither is a zip, and neither can be read here.
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
# Real documents unpack to a few times their size (XML compresses ~5-10x); the size
# limit (QA_MAX_FILE_BYTES, 20 MB by default) times this is generous for any of them.
MAX_UNPACK_RATIO = 50
MIN_UNPACK_LIMIT = 100 * 1024 * 1024


def open_package(path: str, data: bytes, kind: str) -> zipfile.ZipFile:
    """The archive inside `data`, or UnreadableDocument naming what is wrong with it.

    `kind` names the format in reasons ("DOCX", "EPUB").
    """
    if not data.strip():
        raise UnreadableDocument(path, "empty")
    if data.startswith(OLE_MAGIC):
        raise UnreadableDocument(
            path, f"not a {kind}: an OLE file (password-protected, or an old binary format)")
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        unpacked = sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError):
        raise UnreadableDocument(path, f"not a readable {kind} (damaged or not a zip)") from None
    limit = max(len(data) * MAX_UNPACK_RATIO, MIN_UNPACK_LIMIT)
    if unpacked > limit:
        raise UnreadableDocument(
            path, f"{kind} unpacks to {unpacked:,} bytes, over the limit of {limit:,}")
    return archive

