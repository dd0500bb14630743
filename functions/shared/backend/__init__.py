"""Code shared by the archiving functions, shipped to all of them as one Lambda layer."""
