"""fer4d.io: raw-scan readers, dataset layouts, cleaning and the ingest stage.

Import from the module that owns a name; nothing is imported here, so the isolated scan
reader (``fer4d.io.isolated``, a process of its own per ingest job) loads only the readers, not
the cleaning (SciPy's sparse graphs) or the HDF5 writer (0.6 s of start-up per job here).

| module | holds |
|---|---|
| ``readers`` | ``read_scan``, ``SCAN_EXTENSIONS`` (every scan format; VRML 2.0 via ``vrml``) |
| ``isolated`` | ``IsolatedReader``: reading in a worker process under a time bound |
| ``clean`` | ``clean_scan``, ``guess_scale_to_mm`` |
| ``layouts`` | ``discover_sequences``, ``list_frames``, ``natural_key`` |
| ``ingest`` | the stage function ``ingest_sequence(frames, out_path, quarantine_path, ...)`` |
| ``options`` | ``IngestOptions`` (config section ``ingest``) |
| ``scan`` | ``Scan``, one mesh in memory |

The ingested file itself (``IngestedSequence``, ``read_sequence``) belongs to
``fer4d.formats.ingested``.
"""
