"""An ``app.workers`` package shaped as the seed's docstring examples show: one task per module."""
