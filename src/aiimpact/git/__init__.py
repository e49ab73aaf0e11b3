"""Git access: safe subprocesses, the history walk, trailers."""
