"""perago: Conductor task workers on lakeFS-versioned workspaces."""
