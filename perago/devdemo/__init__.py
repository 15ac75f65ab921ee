"""The pieces of ``python -m perago dev``: HTTP helpers, the stack, progress watching and the summary."""
