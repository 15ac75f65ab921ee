"""Example perago pipelines (``examples.songs``)."""
