"""The phases of the collectors as readable plain-Python functions (the oracles).

Each function names a phase of ``Modules/gcmodule.c`` and states in its docstring what holds
afterwards. Compiled twins with the same names live in :mod:`gclab.kernels`.
"""
