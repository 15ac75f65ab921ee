"""perago's Conductor side: the worker runtime and task registration (the only place importing conductor-python)."""

from perago.conductor.worker import Worker, new_worker_id

__all__ = ["Worker", "new_worker_id"]
