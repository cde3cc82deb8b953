#!/usr/bin/env python3
"""bitsandbytes as the judge of Whetstone's NF4 (QLoRA's base), for the device check. Reads a JSON
request and prints one JSON line:

    python3 bench/nf4_judge.py REQUEST.json

REQUEST: {"shape": [R, C], "weight": raw little-endian float32 W, "codes": our packed 4-bit codes
(element 2k in the high nibble of byte k), "dequantized": our dequantized W as float32}.

bitsandbytes quantizes the same W with quantize_4bit(nf4, blocksize 64, compress_statistics=True,
the double quantization QLoRA uses) and dequantizes it. Reported: the share of 4-bit codes that
agree, and max |theirs - ours| over the dequantized weights (all, and where the codes agree),
beside max |W|.
"""
import json
import sys

import numpy as np
import torch
import bitsandbytes.functional as F


def main(path):
    with open(path) as f:
        req = json.load(f)
    rows, cols = req["shape"]
    weight = np.fromfile(req["weight"], dtype="<f4").reshape(rows, cols)
    ours_codes = np.fromfile(req["codes"], dtype=np.uint8)
    ours = np.fromfile(req["dequantized"], dtype="<f4").reshape(rows, cols)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    w = torch.from_numpy(weight).to(device)
    packed, state = F.quantize_4bit(w, blocksize=64, compress_statistics=True, quant_type="nf4")
    theirs = F.dequantize_4bit(packed, state).float().cpu().numpy().reshape(rows, cols)
    their_codes = packed.cpu().numpy().reshape(-1).view(np.uint8)[: ours_codes.size]
    # Compare per element: a byte holds two codes.
    def nibbles(b):
        return np.stack([b >> 4, b & 15], axis=1).reshape(-1)

    same = (nibbles(their_codes) == nibbles(ours_codes))[: rows * cols].reshape(rows, cols)
    diff = np.abs(theirs - ours)
    print(
        json.dumps(
            {
                "bitsandbytes": getattr(__import__("bitsandbytes"), "__version__", "?"),
                "device": device,
                "codesAgree": float(np.mean(same)),
                "maxAbsDiff": float(np.max(diff)),
                # Where the codes agree, the double-quantized scales decide: these should be equal.
                "maxAbsDiffSameCode": float(np.max(diff[same])) if same.any() else None,
                "maxAbsWeight": float(np.max(np.abs(weight))),
            }
        )
    )


if __name__ == "__main__":
    main(sys.argv[1])
