"""PDF files via pypdf: page text split into paragraphs, every block tagged with its 1-based page number."""

from __future__ import annotations

import re
from pathlib import Path

from pypdf import PasswordType, PdfReader
from pypdf.errors import DependencyError, FileNotDecryptedError

from tools.index.document import Block, ParseBudget, ParsedDocument, ParseError
from tools.index.parsers.decoding import Deadline, check_chars, error_detail, require_content
from tools.index.parsers.lines import clip_title, first_line_title

GROUP_CHARS = 1000
_BLANK_LINES = re.compile(r"\n[ \t]*\n\s*")


def _line_groups(paragraph: str) -> list[str]:
    """Split a long run of lines into groups of about ``GROUP_CHARS`` characters, never inside a line."""
    groups: list[str] = []
    current: list[str] = []
    size = 0
    for line in paragraph.split("\n"):
        if current and size + len(line) > GROUP_CHARS:
            groups.append("\n".join(current))
            current, size = [], 0
        current.append(line)
        size += len(line) + 1
    if current:
        groups.append("\n".join(current))
    return groups


def page_paragraphs(text: str) -> list[str]:
    """Paragraphs of one page's text: split at blank lines, and long ones further into line groups."""
    paragraphs: list[str] = []
    for part in _BLANK_LINES.split(text.replace("\r\n", "\n").replace("\r", "\n")):
        part = part.strip()
        if len(part) > GROUP_CHARS:
            paragraphs.extend(group.strip() for group in _line_groups(part) if group.strip())
        elif part:
            paragraphs.append(part)
    return paragraphs


def _open(path: Path) -> PdfReader:
    """Open the file, unlocking it when the user password is empty (many PDFs only restrict editing)."""
    reader = PdfReader(path, strict=False)
    if reader.is_encrypted and reader.decrypt("") == PasswordType.NOT_DECRYPTED:
        raise ParseError("PDF is encrypted (password required)")
    return reader


def _metadata_title(reader: PdfReader) -> str | None:
    try:
        metadata = reader.metadata
        raw = metadata.title if metadata is not None else None
    except Exception:  # a broken info dictionary only costs us the title
        return None
    return (clip_title(str(raw)) or None) if raw else None


def parse(path: Path, budget: ParseBudget, file_type: str) -> ParsedDocument:
    """Parse a PDF; the title is the /Title metadata, else the first line of text, else the file name."""
    require_content(path, "PDF")
    deadline = Deadline(budget)
    try:
        reader = _open(path)
        page_count = len(reader.pages)
    except ParseError:
        raise
    except DependencyError as error:
        raise ParseError("PDF is encrypted with AES, which needs the 'cryptography' package") from error
    except FileNotDecryptedError as error:
        raise ParseError("PDF is encrypted (password required)") from error
    except Exception as error:
        raise ParseError(f"corrupt or truncated PDF: {error_detail(error)}") from error
    if page_count == 0:
        raise ParseError("corrupt or truncated PDF: no pages could be read")
    if page_count > budget.max_pages:
        raise ParseError(f"more than {budget.max_pages:,} pages ({page_count:,})")
    blocks: list[Block] = []
    chars = 0
    for number in range(1, page_count + 1):
        deadline.check()
        try:
            text = reader.pages[number - 1].extract_text()
        except Exception as error:
            raise ParseError(f"corrupt or truncated PDF: page {number}: {error_detail(error)}") from error
        chars += len(text)
        check_chars(chars, budget)
        blocks.extend(Block(text=paragraph, page=number) for paragraph in page_paragraphs(text))
    if not blocks:
        raise ParseError("no extractable text (scanned or image-only PDF?)")
    title = _metadata_title(reader) or first_line_title(blocks[0].text) or path.stem
    return ParsedDocument(title=title, file_type=file_type, blocks=blocks)
