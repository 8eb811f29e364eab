"""Sums over the last axis in a library's order, where the order changes the float32 result.

TensorFlow's CPU `reduce_sum` (Eigen's inner-most reduction, AVX build: packets of 8 float32 lanes) does not add
left to right once a row has 8 or more values (NUMERICS.md, "Corrections"): blocks of 32 values go into 4 packet
accumulators (packet i of a block into accumulator i), which are added `((acc0 + acc1) + acc2) + acc3`; leftover
whole packets are added to that one at a time; the scalar tail is summed left to right from 0; and the result is
`tail + predux(p)` with `predux(p) = ((p0 + p4) + (p2 + p6)) + ((p1 + p5) + (p3 + p7))`. Rows of 7 or fewer
values are a plain left-to-right sum either way."""

import numpy as np

from service.engine.arrays import Array

PACKET = 8
"""float32 lanes in an AVX packet."""
BLOCK = 4 * PACKET
"""Values per pass of Eigen's four unrolled packet accumulators."""


def tensorflow_sum(values: Array) -> Array:
    """`tf.reduce_sum(values, axis=-1)` bit for bit for float32 (any leading shape), in Eigen's order."""
    dims = values.shape[-1]
    lead = values.shape[:-1]
    packets = dims // PACKET
    zero = np.zeros((), values.dtype)
    tail = np.zeros(lead, values.dtype)
    for i in range(packets * PACKET, dims):
        tail = np.add(tail, values[..., i])
    if packets == 0:
        return np.asarray(np.add(tail, zero))
    blocks = dims // BLOCK
    if blocks:
        unrolled = values[..., : blocks * BLOCK].reshape(*lead, blocks, 4, PACKET)
        accumulators = np.add(zero, unrolled[..., 0, :, :])
        for block in range(1, blocks):
            np.add(accumulators, unrolled[..., block, :, :], out=accumulators)
        p = np.add(accumulators[..., 0, :], accumulators[..., 1, :])
        np.add(p, accumulators[..., 2, :], out=p)
        np.add(p, accumulators[..., 3, :], out=p)
    else:
        p = np.zeros((*lead, PACKET), values.dtype)
    for packet in range(blocks * 4, packets):
        np.add(p, values[..., packet * PACKET : (packet + 1) * PACKET], out=p)
    low = np.add(np.add(p[..., 0], p[..., 4]), np.add(p[..., 2], p[..., 6]))
    high = np.add(np.add(p[..., 1], p[..., 5]), np.add(p[..., 3], p[..., 7]))
    return np.asarray(np.add(tail, np.add(low, high)))
