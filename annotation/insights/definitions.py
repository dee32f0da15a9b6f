"""What counts as negative, in one place for the rollups, the explorer, the reports and alerts."""

from __future__ import annotations

# A rating at or below this normalized score (0..1) is negative feedback.
NEGATIVE_RATING = 0.4
# Implicit signals that say the answer did not serve the user.
IMPLICIT_NEGATIVE_EVENTS = ("abandoned", "rephrased", "regenerated")
