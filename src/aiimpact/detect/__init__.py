"""AI-assistance detection: signatures as data (signatures.toml), one detector."""
