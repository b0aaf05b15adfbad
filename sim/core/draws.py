"""Random numbers for a run: named streams, and keyed draws that keep scenarios paired.

A **stream** (``streams.stream("demand")``) is a sequence of draws for one source of
randomness, independent of every other source.

A **keyed draw** (``streams.uniforms("meeting", "ru_derik/3/0", "us_derik_road/3/1", 0)``)
depends only on the run's seed and on its key: which decision it is and who it
concerns. Whatever else differs between two runs (another mission's rate, a posture,
a base), the same decision about the same units faces the same dice, so comparisons
under common random numbers stay paired decision by decision, not only at the start.
"""

from __future__ import annotations

import zlib

import numpy as np

_TO_UNIT = 2.0**-53
_MASK = (1 << 64) - 1


def _key(part: str | int) -> int:
    return part if isinstance(part, int) else zlib.crc32(str(part).encode())


def _mix(x: int) -> int:
    """SplitMix64's finaliser: a 64-bit integer to a well-scrambled 64-bit integer."""
    x = (x + 0x9E3779B97F4A7C15) & _MASK
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & _MASK
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & _MASK
    return x ^ (x >> 31)


class Streams:
    """The random streams and keyed draws of one run, all from its seed.

    Parameters
    ----------
    seed : int
        The run's seed.
    """

    def __init__(self, seed: int) -> None:
        self.seed = seed

    def stream(self, name: str) -> np.random.Generator:
        """An independent stream for one source of randomness, keyed by its name."""
        return self.generator(name)

    def generator(self, *key: str | int) -> np.random.Generator:
        """A generator for one keyed decision or sequence (e.g. a mission's day)."""
        sequence = np.random.SeedSequence(self.seed, spawn_key=tuple(_key(k) for k in key))
        return np.random.Generator(np.random.PCG64(sequence))

    def uniforms(self, *key: str | int, n: int = 1) -> list[float]:
        """``n`` uniforms in [0, 1) for one keyed decision.

        NOTE: a SplitMix64 chain over the seed and the key's parts, in plain
        integers: a few microseconds, where a seeded generator costs fifty.
        """
        h = _mix(self.seed & _MASK)
        for part in key:
            h = _mix(h ^ _key(part))
        return [(_mix(h ^ i) >> 11) * _TO_UNIT for i in range(1, n + 1)]

    def uniform(self, *key: str | int) -> float:
        """One uniform in [0, 1) for one keyed decision."""
        return self.uniforms(*key, n=1)[0]
