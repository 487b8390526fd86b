"""Writers: the edge where results become files."""
