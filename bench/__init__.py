"""`make bench`: the real desk measured beside Temporal's own ceiling on this machine.

Every figure comes from one run of `python -m bench`; see bench/__main__.py.
"""
