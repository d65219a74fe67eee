"""The information model: files -> records -> patients/studies/series -> stacks -> volumes."""

# The MR layer plugs its regrouping (4-D series, mosaics) into the generic stack split
# (``stacks.add_regroup``): imported here so that every split of a series has it, while
# ``stacks`` never imports the layers above it.
from . import fourd as _fourd  # noqa: F401
