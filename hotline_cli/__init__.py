"""hotline_cli."""
