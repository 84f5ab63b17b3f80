"""Every jobs-side write with rules or side effects (DESIGN §2)."""
