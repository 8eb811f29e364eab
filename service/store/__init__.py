"""Where runs and their traces live."""
