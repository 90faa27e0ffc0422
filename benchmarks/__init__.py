"""The benchmark suite behind ``make bench``: klepto_core side by side with its peers."""
