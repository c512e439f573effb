"""Builds small, real PDF files with known text for tests, written by hand so pypdf reads them back faithfully."""

from __future__ import annotations

from io import BytesIO
from pathlib import Path

from pypdf import PdfReader, PdfWriter

_FONT_SIZE = 12
_LEADING = 16
_TOP = 760
_LEFT = 72


def _pdf_string(text: str) -> bytes:
    """Encode ``text`` as a PDF literal string in WinAnsi, the encoding the Helvetica font object declares."""
    raw = text.encode("cp1252")
    return b"(" + raw.replace(b"\\", b"\\\\").replace(b"(", b"\\(").replace(b")", b"\\)") + b")"


def _info_string(text: str) -> bytes:
    """Encode a metadata string; UTF-16BE with a BOM keeps any title exact."""
    return b"<" + ("\ufeff" + text).encode("utf-16-be").hex().upper().encode("ascii") + b">"


def _content_stream(text: str) -> bytes:
    # One text line per input line: each line is shown at its own baseline, moved down by T*, so the extractor
    # sees a new line for every input line. A blank input line is shown as a single space so it survives as an
    # empty line instead of silently merging two paragraphs.
    ops = [b"BT", b"/F1 %d Tf" % _FONT_SIZE, b"%d TL" % _LEADING, b"%d %d Td" % (_LEFT, _TOP)]
    for index, line in enumerate(text.split("\n")):
        if index:
            ops.append(b"T*")
        ops.append(_pdf_string(line or " ") + b" Tj")
    ops.append(b"ET")
    return b"\n".join(ops)


def _build(pages: list[str], title: str | None) -> bytes:
    # Object numbers: 1 catalog, 2 page tree, 3 font, 4 info, then a (page, content) pair per page.
    objects: dict[int, bytes] = {}
    page_ids = [5 + 2 * index for index in range(len(pages))]
    objects[1] = b"<< /Type /Catalog /Pages 2 0 R >>"
    kids = b" ".join(b"%d 0 R" % page_id for page_id in page_ids)
    objects[2] = b"<< /Type /Pages /Kids [" + kids + b"] /Count %d >>" % len(pages)
    objects[3] = b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>"
    objects[4] = (
        b"<< /Producer (deskmate test pdf_factory)"
        + (b" /Title " + _info_string(title) if title is not None else b"")
        + b" >>"
    )
    for page_id, text in zip(page_ids, pages, strict=True):
        stream = _content_stream(text)
        objects[page_id] = (
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 3 0 R >> >> "
            b"/Contents %d 0 R >>" % (page_id + 1)
        )
        objects[page_id + 1] = b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream"

    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets: dict[int, int] = {}
    for number in sorted(objects):
        offsets[number] = len(out)
        out += b"%d 0 obj\n" % number + objects[number] + b"\nendobj\n"
    xref_at = len(out)
    size = max(objects) + 1
    out += b"xref\n0 %d\n0000000000 65535 f \n" % size
    for number in range(1, size):
        out += b"%010d 00000 n \n" % offsets[number]
    out += b"trailer\n<< /Size %d /Root 1 0 R /Info 4 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (size, xref_at)
    return bytes(out)


def make_pdf(path: Path, pages: list[str], *, title: str | None = None, password: str | None = None) -> None:
    """Write a PDF with one page per string in ``pages``, each ``\\n``-separated line on its own text line.

    Text must be encodable in Windows-1252 (the standard Helvetica font's encoding). ``title`` goes into the
    document information dictionary. ``password`` encrypts the file with that user password (RC4-128, which pypdf
    handles without optional crypto packages).
    """
    raw = _build(pages, title)
    if password is None:
        path.write_bytes(raw)
        return
    writer = PdfWriter(clone_from=PdfReader(BytesIO(raw)))
    if title is not None:
        writer.add_metadata({"/Title": title})
    writer.encrypt(password, algorithm="RC4-128")
    with path.open("wb") as handle:
        writer.write(handle)
