"""callqueue: live queue projection and metric definitions (pure, no I/O)."""
