"""Storage I/O, below the nodes: reading arrays' bytes from their files.

This layer knows files, byte offsets, chunk indexes and codecs, and nothing
of graphs, plans or tiles: the adapters (:mod:`lazyarray.adapters`) call it
with a normalised key and a destination array, and it fills the array.
It imports nothing from the layers above it.

* :mod:`lazyarray.storage.hdf5`: HDF5 datasets read straight from the file,
  outside h5py's global lock.
"""
