"""Schedule kinds of each library."""
