"""Mean and standard deviation over time of three years of daily maps, in one pass.

Three yearly files become one lazy time series (a ``LinearMosaic``); the mean and
the standard deviation over time are computed together, each file read once.
"""

import tempfile

import matplotlib.pyplot as plt
import sample

import lazyarray as la

with tempfile.TemporaryDirectory() as folder:
    paths = sample.write_years(folder)
    series = la.LinearMosaic([la.open_dataset(path, "tas") for path in paths], axis=0)
    mean, std = la.ndarrays([la.mean(series, axis=0), la.std(series, axis=0)])

for values, title, cmap in [
    (mean, f"Mean temperature over {series.shape[0]} days, K", "RdYlBu_r"),
    (std, "Standard deviation over time, K", "viridis"),
]:
    fig, ax = plt.subplots(figsize=(7.0, 3.6))
    mesh = ax.pcolormesh(sample.LON, sample.LAT, values, cmap=cmap, shading="nearest")
    fig.colorbar(mesh, ax=ax)
    ax.set(title=title, xlabel="longitude, degrees east", ylabel="latitude, degrees north")

plt.show()  # a window when run by hand; the site's build saves the figures instead
