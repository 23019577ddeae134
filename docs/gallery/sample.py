"""Sample data for the gallery: three years of daily temperature maps, a file a year.

The field is made up but looks like a climate model's output: warm tropics, a
seasonal cycle that grows towards the poles and is opposite in each hemisphere,
a warm "continent", and weather: spells of a few days warmer or colder than usual
over whole regions, with noise from point to point. Each year is an HDF5 file holding a
``tas`` dataset of shape (365, 45, 90) (time, latitude, longitude) in kelvin,
stored in chunks of 73 days.
"""

from __future__ import annotations

import os

import h5py
import numpy as np

YEARS = (2001, 2002, 2003)
LAT = np.linspace(-88.0, 88.0, 45)
LON = np.linspace(0.0, 356.0, 90)


def write_years(folder: str) -> list[str]:
    """Write one file per year into ``folder``; return their paths, in time order."""
    rng = np.random.default_rng(17)
    lat = np.radians(LAT)[None, :, None]
    lon = np.radians(LON)[None, None, :]
    continent = np.exp(-(((lat - 0.6) / 0.35) ** 2) - ((lon - 1.8) / 0.6) ** 2)
    paths = []
    for k, year in enumerate(YEARS):
        day = np.arange(365)[:, None, None]
        season = np.cos(2 * np.pi * (day - 15) / 365)
        # Spells: an AR(1) series (a day keeps 80 % of the day before's anomaly)
        # for each of four bands of latitude, smooth between them.
        spells = np.zeros((365, 4))
        for d in range(1, 365):
            spells[d] = 0.8 * spells[d - 1] + rng.normal(0.0, 0.8, 4)
        bands = np.interp(np.degrees(lat[0, :, 0]), [-70, -25, 25, 70], [0, 1, 2, 3])
        weather = np.stack([np.interp(bands, np.arange(4), s) for s in spells])[:, :, None]
        tas = (
            300.0
            - 45.0 * np.sin(lat) ** 2
            - 14.0 * np.sin(lat) * season * (1 + 1.5 * continent)
            + 6.0 * continent
            + 0.4 * k  # a slow warming, year on year
            + weather * (1.0 + 2.0 * np.abs(np.sin(lat)))
            + rng.normal(0.0, 1.0 + 2.0 * np.abs(np.sin(lat)), (365, LAT.size, LON.size))
        )
        path = os.path.join(folder, f"tas_{year}.h5")
        with h5py.File(path, "w") as f:
            f.create_dataset("tas", data=tas.astype("f4"), chunks=(73, LAT.size, LON.size))
        paths.append(path)
    return paths
