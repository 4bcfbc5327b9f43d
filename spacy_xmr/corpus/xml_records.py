"""An XML corpus file's records (PubMed articles, BioC documents) parsed one at a time and freed after use.

A PubMed baseline file holds 30,000 citations and a PubTator 3 BioC XML file thousands of documents: parsed whole,
each would cost a worker hundreds of MiB. `XmlRecords` parses incrementally (lxml's `iterparse`) and detaches each
record from the tree once the loop has moved past it, so only the record at hand and the root's other children
(a BioC collection's source, date, key and infons) stay in memory.
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable, Iterator

from lxml import etree

from ..errors import InputFormatError
from ..gzip_files import open_binary, unreadable


class XmlRecords:
    """The `tag` children of the file's `root_tag` root, in order, as lxml elements (each valid until the next is
    asked for). After a full iteration `root` holds the root with its other children.

    Errors raise InputFormatError naming the file and, for malformed or truncated XML, the line and what
    `syntax_hint(path)` adds (e.g. which other format the file looks like).
    """

    def __init__(self, path: Path, root_tag: str, tag: str, format_name: str,
                 syntax_hint: Callable[[Path], str] = lambda path: ""):
        self.path, self.root_tag, self.tag, self.format_name = path, root_tag, tag, format_name
        self.syntax_hint = syntax_hint
        self.root, self._last_line = None, 1

    def __iter__(self) -> Iterator:
        self.root, self._last_line = None, 1
        try:
            with open_binary(self.path) as handle:
                yield from self._records(handle)
        except etree.XMLSyntaxError as err:
            raise InputFormatError(self.path, f"malformed or truncated {self.format_name}: {err.msg}{self.syntax_hint(self.path)}",
                                   line=err.lineno or 1) from err
        except (OSError, EOFError) as err:  # corrupt or cut gzip data: named by the last record read whole
            raise unreadable(self.path, err, self._last_line) from err

    def _records(self, handle) -> Iterator:
        # huge_tree: lxml refuses a text node over 10 MB (a full-text passage may be one) unless told otherwise
        for event, element in etree.iterparse(handle, events=("start", "end"), huge_tree=True):
            if self.root is None:
                if element.tag != self.root_tag:
                    raise InputFormatError(self.path, f"the root element is <{element.tag}>, expected <{self.root_tag}>",
                                           element.sourceline)
                self.root = element
            elif event == "end" and element.tag == self.tag:
                self._last_line = element.sourceline or self._last_line
                yield element
                element.clear(keep_tail=False)
                element.getparent().remove(element)
