"""A regional time series: the daily mean over northern mid-latitudes, and a monthly running mean.

The region is a lazy selection (a boolean mask on the latitude axis); the area
weights are a numpy array that broadcasts; the 31-day moving window is lazy too.
Nothing is read until ``ndarrays``, which evaluates both curves together.
"""

import tempfile

import matplotlib.pyplot as plt
import numpy as np
import sample

import lazyarray as la

with tempfile.TemporaryDirectory() as folder:
    paths = sample.write_years(folder)
    series = la.LinearMosaic([la.open_dataset(path, "tas") for path in paths], axis=0)
    in_region = (sample.LAT >= 30) & (sample.LAT <= 60)
    region = series[:, in_region, :]
    weights = np.cos(np.radians(sample.LAT[in_region]))[:, None] * np.ones(sample.LON.size)
    daily = la.sum(region * weights, axis=(1, 2)) / weights.sum()
    smooth = la.rolling(daily, 31, center=True).mean()
    daily_values, smooth_values = la.ndarrays([daily, smooth])

days = np.arange(series.shape[0])
fig, ax = plt.subplots(figsize=(7.0, 3.6))
ax.plot(days, daily_values, lw=0.6, color="0.6", label="daily")
ax.plot(days, smooth_values, lw=2.0, color="C3", label="31-day running mean")
for k, year in enumerate(sample.YEARS):
    ax.axvline(365 * k, color="0.8", lw=0.8)
    ax.text(365 * k + 8, np.nanmax(daily_values), str(year), va="top", color="0.4")
ax.set(title="Mean temperature, 30-60 degrees north, K", xlabel="day", ylabel="K")
ax.legend(loc="lower center", ncols=2)

plt.show()  # a window when run by hand; the site's build saves the figures instead
