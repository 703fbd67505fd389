#!/usr/bin/env python3
"""Make the boss tools' sample inputs (seeded, so the files are reproducible):

raw.npy          (z, y, x) = (8, 32, 32) uint8: smoothed noise, ingested as bossdb://saber/sample/raw
push_block.npy   (x, y, z) = (24, 24, 8) uint8: a mask of raw > 128 (255) over the padded box of
                 the core x [8, 24), y [8, 24), z [2, 6) with padding 4 (boss_push's sample)
cells_left.npy   (z, y, x) = (8, 32, 16) uint8: labels 1 and 2 of the left half, ingested as uint64
                 into bossdb://saber/sample/cells (label 1 reaches x = 15, the blocks' border)
merge_block.npy  (x, y, z) = (20, 32, 8) uint8: labels of the right block, core x [16, 32) with
                 padding 4 (padded x [12, 32)): 1 continues the left half's label 1, 2 is new

Run from anywhere: python3 cwl_tools/boss/samples/make_samples.py
"""
import os

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))


def main():
    rng = np.random.default_rng(2026)
    noise = rng.random((8, 32, 32))
    for axis in range(3):  # a little smoothing, so the mask has blobs rather than salt
        noise = (noise + np.roll(noise, 1, axis) + np.roll(noise, -1, axis)) / 3
    raw = np.clip((noise - noise.min()) / np.ptp(noise) * 255, 0, 255).astype(np.uint8)
    block = (raw[0:8, 4:28, 4:28] > 128).astype(np.uint8) * 255
    crossing = (slice(2, 5), slice(10, 15), slice(10, 22))  # z, y, x: crosses x = 16
    left = np.zeros((8, 32, 16), np.uint8)
    left[crossing[0], crossing[1], 10:16] = 1
    left[5:8, 22:27, 3:8] = 2
    right = np.zeros((8, 32, 20), np.uint8)  # z, y, x over x [12, 32)
    right[crossing[0], crossing[1], 0:10] = 1
    right[1:4, 20:25, 14:19] = 2
    np.save(os.path.join(HERE, "raw.npy"), raw)
    np.save(os.path.join(HERE, "push_block.npy"), block.transpose(2, 1, 0))
    np.save(os.path.join(HERE, "cells_left.npy"), left)
    np.save(os.path.join(HERE, "merge_block.npy"), right.transpose(2, 1, 0))
    print(f"push: {np.count_nonzero(block[2:6, 4:20, 4:20])} nonzero voxels in the core")
    print(f"merge: {np.count_nonzero(left) + np.count_nonzero(right[:, :, 4:])} nonzero voxels after the merge")


if __name__ == "__main__":
    main()
