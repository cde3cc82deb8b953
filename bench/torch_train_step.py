#!/usr/bin/env python3
"""The PyTorch peer of Whetstone's training step: one forward + backward + update of a
Llama-family model (model_type llama / mistral / qwen2) read from a Hugging Face folder, on the CPU
(Debian's python3-torch with OpenBLAS) or a CUDA GPU (--device cuda, for the device check), in
float32 or bfloat16 (--dtype bf16; the loss is taken in float32). Prints one JSON line.

    python3 bench/torch_train_step.py MODEL_DIR --method sgd|adamw|lomo|mezo|inference|lora-adamw
                                      --batch B --seq T --steps N [--threads K] [--lr 1e-3]
                                      [--eps 1e-3] [--rank 8 --alpha 16]
                                      [--device cpu|cuda] [--dtype f32|bf16]

Token ids are deterministic, ids[b][t] = (b*131 + t*7) % vocab, and the loss is the mean next-token
cross-entropy over every position that has a next token. `stepMs` is the median of the steps after
the first (a warm-up); `losses` has every step's loss, measured before that step's update.
`stateBytes` counts the parameters, the gradients and the optimizer state held right after a step
(from tensor sizes); on CUDA, `peakDeviceBytes` is torch's peak allocation. `mezo` is MeZO's step (arXiv 2305.17333, Algorithm 1): in place and without
autograd, perturb every parameter by +eps·z, -2eps·z, +eps·z with z regenerated from one seed,
then update with the same z; `inference` is the forward and loss alone; `lora-adamw` freezes the
model and trains a hand-written LoRA (A Kaiming-uniform, B zero, scale alpha/r) on every linear
layer of the blocks with AdamW. The architecture is the one test/reference/hf_reference.py computes in float64
(whose RoPE frequencies and activations this reuses); the model here is built from
torch.nn.Parameters in float32 so autograd can train it.
"""
import argparse
import json
import math
import os
import resource
import statistics
import struct
import sys
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "test", "reference"))
from hf_reference import activation, rope_inv_freq  # noqa: E402

SOURCE_DTYPES = {
    "F64": torch.float64,
    "F32": torch.float32,
    "F16": torch.float16,
    "BF16": torch.bfloat16,
}


def read_float32(path, into):
    """Reads every tensor of one safetensors file as float32, one tensor at a time (so the peak
    resident memory stays near the float32 model rather than a copy of the whole file)."""
    with open(path, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(n))
        base = 8 + n
        for name, entry in header.items():
            if name == "__metadata__":
                continue
            begin, end = entry["data_offsets"]
            raw = torch.empty(end - begin, dtype=torch.uint8)
            f.seek(base + begin)
            if end > begin and f.readinto(raw.numpy()) != end - begin:
                raise ValueError(f"{path}: {name} is truncated")
            into[name] = raw.view(SOURCE_DTYPES[entry["dtype"]]).reshape(entry["shape"]).to(torch.float32)


def read_weights(model_dir):
    index = os.path.join(model_dir, "model.safetensors.index.json")
    weights = {}
    if not os.path.exists(index):
        read_float32(os.path.join(model_dir, "model.safetensors"), weights)
        return weights
    with open(index) as f:
        shards = sorted(set(json.load(f)["weight_map"].values()))
    for shard in shards:
        read_float32(os.path.join(model_dir, shard), weights)
    return weights


DEVICE = torch.device("cpu")
DTYPE = torch.float32


class Model:
    """A Llama-family decoder as a dict of float32 Parameters (a tied lm_head is the embedding's
    own Parameter, so it is trained, counted and stored once)."""

    def __init__(self, model_dir):
        with open(os.path.join(model_dir, "config.json")) as f:
            cfg = json.load(f)
        if cfg.get("model_type") not in ("llama", "mistral", "qwen2"):
            raise SystemExit(f"model_type {cfg.get('model_type')!r}: only llama, mistral and qwen2")
        self.cfg = cfg
        self.hidden = cfg["hidden_size"]
        self.heads = cfg["num_attention_heads"]
        self.kv_heads = cfg.get("num_key_value_heads") or self.heads
        self.head_dim = cfg.get("head_dim") or self.hidden // self.heads
        self.layers = cfg["num_hidden_layers"]
        self.vocab = cfg["vocab_size"]
        self.eps = cfg.get("rms_norm_eps", 1e-6)
        self.act = activation(cfg.get("hidden_act", "silu"))
        self.window = cfg.get("sliding_window") if cfg["model_type"] == "mistral" else None
        weights = read_weights(model_dir)
        self.tied = cfg.get("tie_word_embeddings", False) or "lm_head.weight" not in weights
        if self.tied:
            weights.pop("lm_head.weight", None)
        self.params = {
            name: torch.nn.Parameter(t.to(device=DEVICE, dtype=DTYPE), requires_grad=True)
            for name, t in weights.items()
        }
        self.lora = {}  # module name -> (A [r, in], B [out, r], scale)

    def add_lora(self, rank, alpha):
        """Freeze the weights; adapt every linear layer of the blocks with y += s·(x Aᵀ) Bᵀ."""
        for p in self.params.values():
            p.requires_grad_(False)
        for name, w in list(self.params.items()):
            if name.startswith("model.layers.") and name.endswith("_proj.weight"):
                out_features, in_features = w.shape
                bound = 1 / math.sqrt(in_features)
                a = torch.nn.Parameter(torch.empty(rank, in_features, device=DEVICE, dtype=DTYPE).uniform_(-bound, bound))
                b = torch.nn.Parameter(torch.zeros(out_features, rank, device=DEVICE, dtype=DTYPE))
                self.lora[name[: -len(".weight")]] = (a, b, alpha / rank)
        return [t for a, b, _ in self.lora.values() for t in (a, b)]

    def unique_parameters(self):
        return list(self.params.values())

    def logits(self, ids, w=None):
        """ids [B, T] (int64) -> logits [B, T, V] in float32. `w` maps names to the tensors to use
        in place of the Parameters (LOMO passes its update-on-backward aliases)."""
        w = self.params if w is None else w
        b, t = ids.shape
        heads, kv, d = self.heads, self.kv_heads, self.head_dim
        rep = heads // kv

        dtype = w["model.embed_tokens.weight"].dtype  # float32 here (float64 works too)
        angles = torch.arange(t, dtype=torch.float64)[:, None] * rope_inv_freq(self.cfg, d, t)[None, :]
        cos = torch.cat([angles.cos(), angles.cos()], -1).to(device=DEVICE, dtype=dtype)  # [T, D]
        sin = torch.cat([angles.sin(), angles.sin()], -1).to(device=DEVICE, dtype=dtype)
        i = torch.arange(t, device=DEVICE)[:, None]
        j = torch.arange(t, device=DEVICE)[None, :]
        allowed = j <= i
        if self.window is not None and t > self.window:
            allowed &= j > i - self.window
        mask = torch.zeros(t, t, dtype=dtype, device=DEVICE).masked_fill(~allowed, float("-inf"))  # added to the scores
        scale = 1.0 / math.sqrt(d)

        def linear(name, x):
            y = F.linear(x, w[name + ".weight"], w.get(name + ".bias"))
            if name in self.lora:
                a, b_, s = self.lora[name]
                y = y + F.linear(F.linear(x, a), b_) * s
            return y

        def norm(x, weight):
            return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * weight

        def rope(x):
            half = d // 2
            return x * cos + torch.cat([-x[..., half:], x[..., :half]], dim=-1) * sin

        h = F.embedding(ids, w["model.embed_tokens.weight"])  # [B, T, C]
        for layer in range(self.layers):
            p = f"model.layers.{layer}"
            x = norm(h, w[p + ".input_layernorm.weight"])
            q = rope(linear(p + ".self_attn.q_proj", x).view(b, t, heads, d).transpose(1, 2))  # [B, H, T, D]
            k = rope(linear(p + ".self_attn.k_proj", x).view(b, t, kv, d).transpose(1, 2))  # [B, KV, T, D]
            v = linear(p + ".self_attn.v_proj", x).view(b, t, kv, d).transpose(1, 2)
            # Grouped-query attention without copying K/V: query head h reads key/value head
            # h // rep, so the rep query heads of one group are stacked along the rows.
            q = q.reshape(b, kv, rep * t, d)
            scores = (q @ k.transpose(-1, -2)).view(b, kv, rep, t, t) * scale + mask
            probs = torch.softmax(scores, dim=-1).view(b, kv, rep * t, t)
            a = (probs @ v).view(b, heads, t, d).transpose(1, 2).reshape(b, t, heads * d)
            h = h + linear(p + ".self_attn.o_proj", a)
            x = norm(h, w[p + ".post_attention_layernorm.weight"])
            h = h + linear(p + ".mlp.down_proj", self.act(linear(p + ".mlp.gate_proj", x)) * linear(p + ".mlp.up_proj", x))
        h = norm(h, w["model.norm.weight"])
        head = w["model.embed_tokens.weight"] if self.tied else w["lm_head.weight"]
        return F.linear(h, head)

    def loss(self, ids, w=None):
        logits = self.logits(ids, w).float()
        return F.cross_entropy(logits[:, :-1].reshape(-1, self.vocab), ids[:, 1:].reshape(-1))


class UpdateOnBackward(torch.autograd.Function):
    """LOMO's fused update for torch 1.13, which has no register_post_accumulate_grad_hook.

    The forward uses, in place of each Parameter p, this Function's output: an alias of p. Autograd
    sums every use's contribution to that alias (the tied embedding's two uses included) and calls
    backward once, as soon as p's full gradient exists and every node that saved p has run. There
    the gradient is applied at once, p.data -= lr * grad (through .data, so no saved tensor's
    version check trips), and None is returned: the AccumulateGrad node of p receives an undefined
    gradient and stores nothing, so p.grad stays None and each gradient is freed right after its
    update. (A plain p.register_hook cannot do this: a leaf's tensor hook runs before accumulation
    and can only replace the gradient, which AccumulateGrad then keeps in p.grad.)
    """

    @staticmethod
    def forward(ctx, p, lr):
        ctx.param = p
        ctx.lr = lr
        return p.view_as(p)

    @staticmethod
    def backward(ctx, grad):
        ctx.param.data.add_(grad, alpha=-ctx.lr)
        return None, None


def perturb(params, seed, scale):
    """p += scale * z(seed) for every parameter, z drawn anew from the seed (never stored)."""
    generator = torch.Generator(device=DEVICE).manual_seed(seed)
    for p in params:
        p.data.add_(torch.randn(p.shape, generator=generator, dtype=p.dtype, device=DEVICE), alpha=scale)


@torch.no_grad()
def mezo_step(model, params, ids, lr, eps, seed):
    perturb(params, seed, eps)
    plus = model.loss(ids)
    perturb(params, seed, -2 * eps)
    minus = model.loss(ids)
    perturb(params, seed, eps)
    projected = ((plus - minus) / (2 * eps)).item()
    perturb(params, seed, -lr * projected)
    return (plus + minus) / 2


def tensor_bytes(t):
    return t.numel() * t.element_size()


def state_bytes(params, optimizer):
    total = sum(tensor_bytes(p) + (tensor_bytes(p.grad) if p.grad is not None else 0) for p in params)
    if optimizer is not None:
        for state in optimizer.state.values():
            total += sum(tensor_bytes(v) for v in state.values() if torch.is_tensor(v))
    return total


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("model_dir")
    parser.add_argument("--method", choices=("sgd", "adamw", "lomo", "mezo", "inference", "lora-adamw"), required=True)
    parser.add_argument("--batch", type=int, required=True)
    parser.add_argument("--seq", type=int, required=True)
    parser.add_argument("--steps", type=int, required=True)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--eps", type=float, default=1e-3)
    parser.add_argument("--rank", type=int, default=8)
    parser.add_argument("--alpha", type=float, default=16)
    parser.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    parser.add_argument("--dtype", choices=("f32", "bf16"), default="f32")
    args = parser.parse_args()
    if args.seq < 2 or args.batch < 1 or args.steps < 1 or args.threads < 1:
        parser.error("need --seq >= 2, --batch >= 1, --steps >= 1, --threads >= 1")

    torch.set_num_threads(args.threads)
    global DEVICE, DTYPE
    DEVICE = torch.device(args.device)
    DTYPE = torch.bfloat16 if args.dtype == "bf16" else torch.float32
    if DEVICE.type == "cuda" and not torch.cuda.is_available():
        raise SystemExit("--device cuda: torch sees no CUDA device")
    model = Model(args.model_dir)
    params = model.unique_parameters()
    if args.method == "lora-adamw":
        params = model.add_lora(args.rank, args.alpha) + params  # adapters first: they train
    ids = torch.tensor(
        [[(b * 131 + t * 7) % model.vocab for t in range(args.seq)] for b in range(args.batch)],
        dtype=torch.int64,
        device=DEVICE,
    )

    optimizer = None
    if args.method == "sgd":
        optimizer = torch.optim.SGD(params, lr=args.lr)
    elif args.method in ("adamw", "lora-adamw"):
        trained = [p for p in params if p.requires_grad]
        optimizer = torch.optim.AdamW(trained, lr=args.lr, betas=(0.9, 0.999), eps=1e-8, weight_decay=0)

    losses, times = [], []
    for _ in range(args.steps):
        start = time.perf_counter()
        if args.method == "inference":
            with torch.no_grad():
                loss = model.loss(ids)
        elif args.method == "mezo":
            loss = mezo_step(model, params, ids, args.lr, args.eps, seed=len(losses))
        elif optimizer is None:  # lomo
            aliases = {name: UpdateOnBackward.apply(p, args.lr) for name, p in model.params.items()}
            loss = model.loss(ids, aliases)
            loss.backward()
            del aliases
        else:
            optimizer.zero_grad(set_to_none=True)
            loss = model.loss(ids)
            loss.backward()
            optimizer.step()
        if DEVICE.type == "cuda":
            torch.cuda.synchronize()  # the GPU's work is in the step's time
        times.append((time.perf_counter() - start) * 1000)
        losses.append(loss.item())
        del loss

    print(json.dumps({
        "method": args.method,
        "device": args.device,
        "dtype": args.dtype,
        "threads": args.threads,
        "batch": args.batch,
        "seq": args.seq,
        "parameters": sum(p.numel() for p in params),
        "stepMs": statistics.median(times[1:] if len(times) > 1 else times),
        "losses": losses,
        "peakRssBytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
        "stateBytes": state_bytes(params, optimizer),
        **({"peakDeviceBytes": torch.cuda.max_memory_allocated()} if DEVICE.type == "cuda" else {}),
    }))


if __name__ == "__main__":
    main()
