#!/usr/bin/env python3
"""Independent PyTorch forward passes of the Llama family, GPT-2, OPT, RoBERTa and BERT, in float64.

Written from the architectures' definitions (not from Whetstone's code) so the engine's logits can
be checked against a second implementation. Reads a Hugging Face folder (config.json plus
model.safetensors or a sharded index) and token ids, and writes logits as safetensors:

    python3 hf_reference.py MODEL_DIR IDS.json OUT.safetensors [ADAPTER_DIR]

With ADAPTER_DIR (a PEFT LoRA folder: adapter_config.json + adapter_model.safetensors), every
adapted weight becomes W + (lora_alpha/r)·B A (alpha/sqrt(r) with use_rslora), transposed for
fan_in_fan_out (GPT-2's Conv1D), as PEFT's merge defines it. An ADALORA folder holds each module's
kept ranks (lora_A [k, in], lora_E [k, 1], lora_B [out, k]); its weight becomes
W + lora_alpha/(init_r + 1e-5)·B (A ⊙ E), PEFT's AdaLoRA merge (ranknum stays init_r).

IDS.json holds [[ids], ...]; every sequence is run on its own; OUT has `logits` [B, T, V]
(float32, zero past each sequence's end). RoBERTa and BERT (masked LMs) attend in both directions
to every token that is not pad_token_id (the attention mask a tokenizer gives a padded batch);
RoBERTa's position of a real token is padding_idx + (real tokens up to and including it), a pad
token's is padding_idx.
"""
import json
import math
import os
import struct
import sys

import torch

DTYPES = {
    "F64": torch.float64,
    "F32": torch.float32,
    "F16": torch.float16,
    "BF16": torch.bfloat16,
    "I64": torch.int64,
    "I32": torch.int32,
}


def read_safetensors(path):
    with open(path, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(n))
        data = f.read()
    tensors = {}
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        begin, end = entry["data_offsets"]
        raw = bytearray(data[begin:end])
        t = torch.frombuffer(raw, dtype=DTYPES[entry["dtype"]]) if raw else torch.empty(0)
        tensors[name] = t.reshape(entry["shape"]).to(torch.float64)
    return tensors


def read_weights(model_dir):
    index = os.path.join(model_dir, "model.safetensors.index.json")
    if not os.path.exists(index):
        return read_safetensors(os.path.join(model_dir, "model.safetensors"))
    weights = {}
    for shard in sorted(set(json.load(open(index))["weight_map"].values())):
        weights.update(read_safetensors(os.path.join(model_dir, shard)))
    return weights


def activation(name):
    if name == "silu":
        return torch.nn.functional.silu
    if name == "relu":
        return torch.relu
    if name == "gelu":
        return lambda x: 0.5 * x * (1 + torch.erf(x / math.sqrt(2)))
    if name in ("gelu_new", "gelu_pytorch_tanh"):
        return lambda x: 0.5 * x * (1 + torch.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x**3)))
    raise ValueError(f"activation {name}")


def attend(q, k, v, scale, window=None):
    """q [H, T, D], k/v [KV, T, D] -> [T, H*D], causal (optionally windowed)."""
    heads, t, d = q.shape
    rep = heads // k.shape[0]
    k = k.repeat_interleave(rep, dim=0)
    v = v.repeat_interleave(rep, dim=0)
    scores = (q @ k.transpose(1, 2)) * scale
    i = torch.arange(t)[:, None]
    j = torch.arange(t)[None, :]
    allowed = j <= i
    if window is not None:
        allowed &= j > i - window
    scores = scores.masked_fill(~allowed, float("-inf"))
    out = torch.softmax(scores, dim=-1) @ v  # [H, T, D]
    return out.transpose(0, 1).reshape(t, heads * d)


def rms_norm(x, w, eps):
    return x / torch.sqrt((x * x).mean(-1, keepdim=True) + eps) * w


def layer_norm(x, w, b, eps):
    mean = x.mean(-1, keepdim=True)
    var = ((x - mean) ** 2).mean(-1, keepdim=True)
    y = (x - mean) / torch.sqrt(var + eps)
    if w is not None:
        y = y * w
    if b is not None:
        y = y + b
    return y


def rope_inv_freq(cfg, head_dim, seq_len):
    theta = cfg.get("rope_theta", 10000.0)
    scaling = cfg.get("rope_scaling") or {}
    kind = scaling.get("rope_type", scaling.get("type"))
    max_pos = cfg.get("max_position_embeddings", 2048)
    if kind == "dynamic" and seq_len > max_pos:
        f = scaling["factor"]
        theta = theta * ((f * seq_len / max_pos) - (f - 1)) ** (head_dim / (head_dim - 2))
    inv = 1.0 / theta ** (torch.arange(0, head_dim, 2, dtype=torch.float64) / head_dim)
    if kind == "linear":
        inv = inv / scaling["factor"]
    if kind == "llama3":
        f, low, high = scaling["factor"], scaling["low_freq_factor"], scaling["high_freq_factor"]
        old = scaling["original_max_position_embeddings"]
        out = []
        for freq in inv.tolist():
            wavelen = 2 * math.pi / freq
            if wavelen > old / low:
                out.append(freq / f)
            elif wavelen < old / high:
                out.append(freq)
            else:
                smooth = (old / wavelen - low) / (high - low)
                out.append((1 - smooth) * freq / f + smooth * freq)
        inv = torch.tensor(out, dtype=torch.float64)
    return inv


def rotate(x, cos, sin):
    half = x.shape[-1] // 2
    rotated = torch.cat([-x[..., half:], x[..., :half]], dim=-1)
    return x * cos + rotated * sin


def llama_logits(cfg, w, ids):
    t = len(ids)
    hidden, heads = cfg["hidden_size"], cfg["num_attention_heads"]
    kv = cfg.get("num_key_value_heads") or heads
    d = cfg.get("head_dim") or hidden // heads
    eps = cfg.get("rms_norm_eps", 1e-6)
    act = activation(cfg.get("hidden_act", "silu"))
    window = cfg.get("sliding_window") if cfg["model_type"] == "mistral" else None
    angles = torch.arange(t, dtype=torch.float64)[:, None] * rope_inv_freq(cfg, d, t)[None, :]
    cos = torch.cat([angles.cos(), angles.cos()], -1)
    sin = torch.cat([angles.sin(), angles.sin()], -1)

    def linear(name, x):
        y = x @ w[name + ".weight"].T
        return y + w[name + ".bias"] if name + ".bias" in w else y

    h = w["model.embed_tokens.weight"][torch.tensor(ids)]
    for i in range(cfg["num_hidden_layers"]):
        p = f"model.layers.{i}"
        x = rms_norm(h, w[p + ".input_layernorm.weight"], eps)
        q = linear(p + ".self_attn.q_proj", x).reshape(t, heads, d).transpose(0, 1)
        k = linear(p + ".self_attn.k_proj", x).reshape(t, kv, d).transpose(0, 1)
        v = linear(p + ".self_attn.v_proj", x).reshape(t, kv, d).transpose(0, 1)
        a = attend(rotate(q, cos, sin), rotate(k, cos, sin), v, 1 / math.sqrt(d), window)
        h = h + linear(p + ".self_attn.o_proj", a)
        x = rms_norm(h, w[p + ".post_attention_layernorm.weight"], eps)
        h = h + linear(p + ".mlp.down_proj", act(linear(p + ".mlp.gate_proj", x)) * linear(p + ".mlp.up_proj", x))
    h = rms_norm(h, w["model.norm.weight"], eps)
    head = w["model.embed_tokens.weight"] if cfg.get("tie_word_embeddings", False) else w["lm_head.weight"]
    return h @ head.T


def gpt2_logits(cfg, w, ids):
    pre = "transformer." if "transformer.wte.weight" in w else ""
    t = len(ids)
    c, heads = cfg["n_embd"], cfg["n_head"]
    d = c // heads
    eps = cfg.get("layer_norm_epsilon", 1e-5)
    act = activation(cfg.get("activation_function", "gelu_new"))
    wte = w[pre + "wte.weight"]
    h = wte[torch.tensor(ids)] + w[pre + "wpe.weight"][:t]
    for i in range(cfg["n_layer"]):
        p = f"{pre}h.{i}"
        x = layer_norm(h, w[p + ".ln_1.weight"], w[p + ".ln_1.bias"], eps)
        qkv = x @ w[p + ".attn.c_attn.weight"] + w[p + ".attn.c_attn.bias"]  # Conv1D: [in, out]
        q, k, v = (part.reshape(t, heads, d).transpose(0, 1) for part in qkv.split(c, dim=-1))
        scale = 1 / math.sqrt(d) if cfg.get("scale_attn_weights", True) else 1.0
        if cfg.get("scale_attn_by_inverse_layer_idx"):
            scale /= i + 1
        h = h + attend(q, k, v, scale) @ w[p + ".attn.c_proj.weight"] + w[p + ".attn.c_proj.bias"]
        x = layer_norm(h, w[p + ".ln_2.weight"], w[p + ".ln_2.bias"], eps)
        inner = act(x @ w[p + ".mlp.c_fc.weight"] + w[p + ".mlp.c_fc.bias"])
        h = h + inner @ w[p + ".mlp.c_proj.weight"] + w[p + ".mlp.c_proj.bias"]
    h = layer_norm(h, w[pre + "ln_f.weight"], w[pre + "ln_f.bias"], eps)
    return h @ wte.T


def opt_logits(cfg, w, ids):
    pre = "model.decoder." if "model.decoder.embed_tokens.weight" in w else "decoder."
    t = len(ids)
    c, heads = cfg["hidden_size"], cfg["num_attention_heads"]
    d = c // heads
    before = cfg.get("do_layer_norm_before", True)
    act = activation(cfg.get("activation_function", "relu"))
    get = w.get

    def linear(name, x):
        y = x @ w[name + ".weight"].T
        return y + w[name + ".bias"] if name + ".bias" in w else y

    def norm(name, x):
        return layer_norm(x, get(name + ".weight"), get(name + ".bias"), 1e-5)

    emb = w[pre + "embed_tokens.weight"]
    h = emb[torch.tensor(ids)]
    if pre + "project_in.weight" in w:
        h = h @ w[pre + "project_in.weight"].T
    h = h + w[pre + "embed_positions.weight"][torch.arange(t) + 2]
    for i in range(cfg["num_hidden_layers"]):
        p = f"{pre}layers.{i}"
        x = norm(p + ".self_attn_layer_norm", h) if before else h
        q = linear(p + ".self_attn.q_proj", x).reshape(t, heads, d).transpose(0, 1)
        k = linear(p + ".self_attn.k_proj", x).reshape(t, heads, d).transpose(0, 1)
        v = linear(p + ".self_attn.v_proj", x).reshape(t, heads, d).transpose(0, 1)
        h = h + linear(p + ".self_attn.out_proj", attend(q, k, v, 1 / math.sqrt(d)))
        if not before:
            h = norm(p + ".self_attn_layer_norm", h)
        x = norm(p + ".final_layer_norm", h) if before else h
        h = h + linear(p + ".fc2", act(linear(p + ".fc1", x)))
        if not before:
            h = norm(p + ".final_layer_norm", h)
    if pre + "final_layer_norm.weight" in w or (before and not cfg.get("_remove_final_layer_norm", False)):
        h = norm(pre + "final_layer_norm", h)
    if pre + "project_out.weight" in w:
        h = h @ w[pre + "project_out.weight"].T
    head = emb if cfg.get("tie_word_embeddings", True) else w["lm_head.weight"]
    return h @ head.T


def encoder_logits(cfg, w, ids):
    """RoBERTa / BERT masked-LM logits: post-LN encoder blocks, then the MLM head."""
    roberta = cfg["model_type"] == "roberta"
    pre = "roberta" if roberta else "bert"
    t = len(ids)
    c, heads = cfg["hidden_size"], cfg["num_attention_heads"]
    d = c // heads
    eps = cfg.get("layer_norm_eps", 1e-12)
    act = activation(cfg.get("hidden_act", "gelu"))
    pad = cfg.get("pad_token_id", 0)
    ids_t = torch.tensor(ids)
    real = ids_t != pad

    def linear(name, x):
        return x @ w[name + ".weight"].T + w[name + ".bias"]

    def norm(name, x):
        return layer_norm(x, w[name + ".weight"], w[name + ".bias"], eps)

    if roberta:
        positions = torch.cumsum(real.long(), 0) * real.long() + pad
    else:
        positions = torch.arange(t)
    e = f"{pre}.embeddings"
    h = w[e + ".word_embeddings.weight"][ids_t] + w[e + ".position_embeddings.weight"][positions]
    h = norm(e + ".LayerNorm", h + w[e + ".token_type_embeddings.weight"][0])
    for i in range(cfg["num_hidden_layers"]):
        p = f"{pre}.encoder.layer.{i}"
        q, k, v = (
            linear(f"{p}.attention.self.{n}", h).reshape(t, heads, d).transpose(0, 1)
            for n in ("query", "key", "value")
        )
        scores = (q @ k.transpose(1, 2)) / math.sqrt(d)
        scores = scores.masked_fill(~real[None, None, :], float("-inf"))
        a = (torch.softmax(scores, dim=-1) @ v).transpose(0, 1).reshape(t, c)
        h = norm(p + ".attention.output.LayerNorm", linear(p + ".attention.output.dense", a) + h)
        inner = act(linear(p + ".intermediate.dense", h))
        h = norm(p + ".output.LayerNorm", linear(p + ".output.dense", inner) + h)
    if roberta:
        dense, ln, decoder, bias = "lm_head.dense", "lm_head.layer_norm", "lm_head.decoder", "lm_head.bias"
    else:
        t_ = "cls.predictions.transform"
        dense, ln, decoder, bias = t_ + ".dense", t_ + ".LayerNorm", "cls.predictions.decoder", "cls.predictions.bias"
    x = norm(ln, act(linear(dense, h)))
    tied = cfg.get("tie_word_embeddings", True)
    out = w[e + ".word_embeddings.weight"] if tied else w[decoder + ".weight"]
    return x @ out.T + (w[bias] if bias in w else w[decoder + ".bias"])


def lora_deltas(cfg, tensors, module):
    """The module's ΔW [out, in] from a LORA or ADALORA adapter's tensors."""
    key = f"base_model.model.{module}"
    if cfg["peft_type"] == "ADALORA":
        a, e, b = tensors[f"{key}.lora_A"], tensors[f"{key}.lora_E"], tensors[f"{key}.lora_B"]
        assert a.shape[0] == e.shape[0] == b.shape[1] and e.shape[1] == 1, (module, a.shape, e.shape, b.shape)
        return cfg["lora_alpha"] / (cfg["init_r"] + 1e-5) * (b @ (a * e))
    r, alpha = cfg["r"], cfg["lora_alpha"]
    scale = alpha / math.sqrt(r) if cfg.get("use_rslora") else alpha / r
    a = tensors[f"{key}.lora_A.weight"]  # [r, in]
    b = tensors[f"{key}.lora_B.weight"]  # [out, r]
    assert a.shape[0] == r and b.shape[1] == r, (module, a.shape, b.shape)
    return scale * (b @ a)


def apply_lora(weights, adapter_dir):
    """Fold a PEFT LoRA or AdaLoRA adapter into `weights` (in place); returns how many modules it changed."""
    cfg = json.load(open(os.path.join(adapter_dir, "adapter_config.json")))
    assert cfg["peft_type"] in ("LORA", "ADALORA"), cfg["peft_type"]
    tensors = read_safetensors(os.path.join(adapter_dir, "adapter_model.safetensors"))
    prefix = "base_model.model."
    modules = sorted({k[len(prefix):].rsplit(".lora_", 1)[0] for k in tensors})
    for module in modules:
        delta = lora_deltas(cfg, tensors, module)  # [out, in]
        if cfg.get("fan_in_fan_out"):
            delta = delta.T
        name = module + ".weight"
        if name not in weights:  # checkpoints without GPT-2's "transformer." prefix
            name = name.split(".", 1)[1]
        assert weights[name].shape == delta.shape, (name, weights[name].shape, delta.shape)
        weights[name] = weights[name] + delta
    return len(modules)


FORWARD = {
    "llama": llama_logits,
    "mistral": llama_logits,
    "qwen2": llama_logits,
    "gpt2": gpt2_logits,
    "opt": opt_logits,
    "roberta": encoder_logits,
    "bert": encoder_logits,
}


def write_safetensors(path, name, tensor):
    data = tensor.to(torch.float32).contiguous().numpy().tobytes()
    header = json.dumps({name: {"dtype": "F32", "shape": list(tensor.shape), "data_offsets": [0, len(data)]}}).encode()
    header += b" " * (-len(header) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(header)) + header + data)


def main():
    model_dir, ids_path, out_path = sys.argv[1:4]
    cfg = json.load(open(os.path.join(model_dir, "config.json")))
    weights = read_weights(model_dir)
    if len(sys.argv) > 4:
        assert apply_lora(weights, sys.argv[4]) > 0
    sequences = json.load(open(ids_path))
    longest = max(len(s) for s in sequences)
    vocab = cfg["vocab_size"]
    out = torch.zeros(len(sequences), longest, vocab, dtype=torch.float64)
    with torch.no_grad():
        for row, ids in enumerate(sequences):
            out[row, : len(ids)] = FORWARD[cfg["model_type"]](cfg, weights, ids)
    write_safetensors(out_path, "logits", out)


if __name__ == "__main__":
    main()
