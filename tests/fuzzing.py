"""Seeded mutations of real ``.tflite`` files, for the fuzz tests and the long fuzz run."""

from __future__ import annotations

import random
import struct
from dataclasses import dataclass

MUTATIONS = ("bit_flips", "truncate", "offset", "index", "zero_range", "duplicate_range")


@dataclass(frozen=True)
class Mutant:
    """One mutated copy: which model, how, and with which seed (enough to reproduce it)."""

    model: str
    mutation: str
    seed: int
    data: bytes

    def __str__(self) -> str:
        return f"{self.model}/{self.mutation}/seed={self.seed}"


def mutants(models: dict, count: int, seed: int = 0):
    """Yield ``count`` mutants of the given ``{name: bytes}`` models, reproducibly."""
    names = sorted(models)
    for number in range(count):
        case_seed = seed * 1_000_003 + number
        rng = random.Random(case_seed)
        name = names[number % len(names)]
        mutation = MUTATIONS[(number // len(names)) % len(MUTATIONS)]
        yield Mutant(name, mutation, case_seed, mutate(models[name], mutation, rng))


def mutate(data: bytes, mutation: str, rng: random.Random) -> bytes:
    """Apply one kind of damage to ``data``."""
    buffer = bytearray(data)
    if mutation == "bit_flips":
        for _ in range(rng.randint(1, 8)):
            position = rng.randrange(len(buffer))
            buffer[position] ^= 1 << rng.randrange(8)
    elif mutation == "truncate":
        del buffer[rng.randrange(len(buffer)):]
    elif mutation == "offset":  # a uoffset/soffset somewhere pointing anywhere
        position = rng.randrange(0, len(buffer) - 4) & ~3
        struct.pack_into("<I", buffer, position, rng.choice([0, 4, len(buffer) - 4, len(buffer), 2**31 - 1, 2**32 - 1, rng.randrange(2**32)]))
    elif mutation == "index":  # small int32 values (tensor, opcode, buffer indices) pushed out of range
        candidates = [p for p in range(0, len(buffer) - 4, 4) if 0 <= struct.unpack_from("<i", buffer, p)[0] < 512]
        for position in rng.sample(candidates, min(len(candidates), rng.randint(1, 4))):
            struct.pack_into("<i", buffer, position, rng.choice([-1, -2, 512, 65535, 2**31 - 1]))
    elif mutation == "zero_range":
        start = rng.randrange(len(buffer))
        end = min(len(buffer), start + rng.randint(1, 64))
        buffer[start:end] = bytes(end - start)
    elif mutation == "duplicate_range":
        start = rng.randrange(len(buffer))
        length = rng.randint(1, 256)
        target = rng.randrange(len(buffer))
        chunk = buffer[start : start + length]
        buffer[target : target + len(chunk)] = chunk
    return bytes(buffer)
