#!/usr/bin/env python3
"""Turn a raw volume into a cell (foreground) probability map in [0, 1].

The volume is smoothed with a Gaussian of ``sigma`` voxels (denoising at
roughly the scale of a cell's interior), then normalised for local contrast:
the local mean and standard deviation are Gaussian-weighted over
``background_sigma`` voxels, so uneven illumination and staining cancel out,
and the z-score ``(smoothed - local mean) / local std`` is mapped through a
logistic ``1 / (1 + exp(-gain * (z - offset)))``.  Writes ``probability.npy``
(float32, axes z, y, x).
"""
import argparse
import os

import numpy as np
from scipy import ndimage


def local_contrast(volume, background_sigma):
    """Return the local z-score of ``volume`` over a Gaussian window of ``background_sigma``."""
    volume = np.asarray(volume, dtype=np.float64)
    mean = ndimage.gaussian_filter(volume, background_sigma, mode="reflect")
    mean_sq = ndimage.gaussian_filter(volume ** 2, background_sigma, mode="reflect")
    std = np.sqrt(np.maximum(mean_sq - mean ** 2, 0.0))
    # A floor on std keeps flat regions (std ~ 0) from blowing up into +-inf.
    floor = max(1e-3 * float(np.abs(volume).max()), 1e-12)
    return (volume - mean) / np.maximum(std, floor)


def cell_probability(volume, sigma=1.0, background_sigma=8.0, gain=2.0, offset=1.0):
    """Return the float32 probability map of ``volume``; see the module docstring."""
    if sigma < 0 or background_sigma <= 0 or gain <= 0:
        raise ValueError("sigma >= 0, background_sigma > 0 and gain > 0 are required")
    volume = np.asarray(volume, dtype=np.float64)
    if sigma > 0:
        volume = ndimage.gaussian_filter(volume, sigma, mode="reflect")
    z = local_contrast(volume, background_sigma)
    return (0.5 * (1.0 + np.tanh(0.5 * gain * (z - offset)))).astype(np.float32)  # = logistic


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--volume", required=True, help="input volume (.npy, z, y, x)")
    parser.add_argument("--sigma", type=float, default=1.0, help="denoising Gaussian, voxels")
    parser.add_argument("--background-sigma", type=float, default=8.0,
                        help="window (Gaussian sigma, voxels) of the local mean and std")
    parser.add_argument("--gain", type=float, default=2.0, help="slope of the logistic")
    parser.add_argument("--offset", type=float, default=1.0,
                        help="local z-score that maps to probability 0.5")
    parser.add_argument("--out-dir", default=".", help="where to write probability.npy")
    args = parser.parse_args(argv)

    prob = cell_probability(np.load(args.volume), args.sigma, args.background_sigma,
                            args.gain, args.offset)
    os.makedirs(args.out_dir, exist_ok=True)
    np.save(os.path.join(args.out_dir, "probability.npy"), prob)
    print(f"probability: mean {prob.mean():.4f}, voxels >= 0.5: {int((prob >= 0.5).sum())}")


if __name__ == "__main__":
    main()
