"""Outcomes of changes: reverts, churn and survival, defect links (SZZ), authorship."""
