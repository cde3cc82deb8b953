#!/usr/bin/env python3
"""transformers and PEFT as the judge of Whetstone's exports, for the device check. Reads a JSON
request, prints one JSON line per case:

    python3 bench/hf_judge.py REQUEST.json

REQUEST: {"device": "cuda"|"cpu", "cases": [{"name", "kind": "merged"|"peft", "model" (merged: the
exported folder; peft: the base), "adapter" (peft: the exported adapter folder), "ids": [[...]],
"ours": our logits as raw little-endian float32, "shape": [B, T, V]}]}.

A merged export must load with AutoModelForCausalLM.from_pretrained; an adapter with
PeftModel.from_pretrained over its base. Both run in float32 and their logits are compared with
ours: `relError` is max |theirs - ours| / max |ours|. Prompt tuning's logits include the virtual
tokens' positions first; those are dropped. A case that fails to load reports its error.
"""
import json
import sys

import torch


def logits_of(model, ids, device):
    with torch.no_grad():
        batch = torch.tensor(ids, dtype=torch.int64, device=device)
        out = model(input_ids=batch, attention_mask=torch.ones_like(batch)).logits.float()
    t = batch.shape[1]
    return out[:, -t:, :].cpu()  # prompt tuning prepends its virtual tokens


def judge(case, device):
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(case["model"], torch_dtype=torch.float32)
    if case["kind"] == "peft":
        from peft import PeftModel

        model = PeftModel.from_pretrained(model, case["adapter"])
    model.to(device).eval()
    theirs = logits_of(model, case["ids"], device)
    with open(case["ours"], "rb") as f:
        ours = torch.frombuffer(bytearray(f.read()), dtype=torch.float32).reshape(case["shape"])
    if theirs.shape != ours.shape:
        return {"error": f"shape {list(theirs.shape)} against ours {list(ours.shape)}"}
    rel = ((theirs - ours).abs().max() / ours.abs().max().clamp_min(1e-30)).item()
    return {"relError": rel}


def main():
    with open(sys.argv[1]) as f:
        request = json.load(f)
    device = request.get("device", "cpu")
    if device == "cuda" and not torch.cuda.is_available():
        device = "cpu"
    for case in request["cases"]:
        try:
            result = judge(case, device)
        except Exception as err:  # a load failure is the verdict, not a crash of the check
            result = {"error": f"{type(err).__name__}: {err}"}
        print(json.dumps({"name": case["name"], "device": device, **result}), flush=True)


if __name__ == "__main__":
    main()
