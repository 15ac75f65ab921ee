"""perago's lakeFS side: the workspace store and the janitor (the only place importing lakefs_sdk)."""
