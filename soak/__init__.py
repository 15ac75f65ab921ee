"""The chaos soak (``make soak``): exactly-once publication under at-least-once delivery, checked end to end."""
