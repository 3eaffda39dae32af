"""The 360° profile: traits with survivorship, computed attributes, the one person view, and the
timeline across heads."""
