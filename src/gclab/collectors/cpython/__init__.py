"""CPython's collectors: the generational cycle collector of 2.7 and 3.10-3.13."""
