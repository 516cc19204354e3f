"""fer4d.io: raw-scan readers, dataset layouts, cleaning and the ingest stage.

Stage function: ``ingest_sequence(frames, out_path, quarantine_path, subject, label, options, strict)``.
"""

from fer4d.formats.ingested import IngestedSequence, read_sequence
from fer4d.io.clean import clean_scan, guess_scale_to_mm
from fer4d.io.ingest import ingest_sequence
from fer4d.io.layouts import (
    LABEL_FOLDERS,
    SequenceEntry,
    discover_sequences,
    label_for_folder,
    natural_key,
    unknown_label_folders,
)
from fer4d.io.options import IngestOptions
from fer4d.io.readers import SCAN_EXTENSIONS, read_scan
from fer4d.io.scan import Scan

__all__ = [
    "LABEL_FOLDERS",
    "SCAN_EXTENSIONS",
    "IngestOptions",
    "IngestedSequence",
    "Scan",
    "SequenceEntry",
    "clean_scan",
    "discover_sequences",
    "guess_scale_to_mm",
    "ingest_sequence",
    "label_for_folder",
    "natural_key",
    "read_scan",
    "read_sequence",
    "unknown_label_folders",
]
