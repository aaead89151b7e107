"""mlp-bench: the from-scratch MLP library (NumPy and CuPy from one code base)."""
