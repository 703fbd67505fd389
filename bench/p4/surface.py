"""The P4 test surface: one narrow-ish Gaussian peak at (0.62, 0.31) on a gentle slope that
rises the other way, towards (0, 1). Values lie in [0, 1]; the peak is off the 0.05 grid.

    python3 surface.py X Y    ->  score: <value>

Pure Python (no numpy), so the bench imports the very function the container runs.
"""

import math
import sys

PEAK = (0.62, 0.31)
WIDTH = (0.08, 0.10)  # standard deviations along x and y
HEIGHT = 0.72  # of the Gaussian; the slope adds at most 1 - HEIGHT, at (0, 1)


def score(x: float, y: float) -> float:
    bump = math.exp(-((x - PEAK[0]) ** 2 / (2 * WIDTH[0] ** 2) + (y - PEAK[1]) ** 2 / (2 * WIDTH[1] ** 2)))
    return HEIGHT * bump + (1 - HEIGHT) * (1 - x) * y


if __name__ == "__main__":
    print(f"score: {score(float(sys.argv[1]), float(sys.argv[2])):.12g}")
