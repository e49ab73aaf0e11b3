"""HTML report and figures."""
