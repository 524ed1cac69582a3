#!/usr/bin/env python3
"""hf_compare.py: check mlxn against Hugging Face transformers.

Builds tiny random models of each supported architecture with transformers
(LlamaForCausalLM, MistralForCausalLM, Qwen2ForCausalLM, Qwen3ForCausalLM;
odd head counts and GQA ratios, rope scaling, biases, q/k norms, tied
embeddings), saves them as safetensors, and compares mlxn's logits with
transformers' over a 64-token prompt, and the 32 greedy tokens that follow.

  python3 scripts/hf_compare.py --mlxn build/mlxn --backend cuda [--dtype f32|bf16] [--quant mlx4]

Error metric per case: max over positions of max|mlxn - ref| / max|ref|
(the largest logit error relative to that position's largest logit).
--dtype bf16 saves bf16 weights and compares with transformers running in
float32 on the same bf16-rounded weights (what mlxn computes), and also
reports the error against transformers' native bf16 computation.
--quant mlx4 quantizes each saved model with `mlxn quantize` to MLX affine
4-bit (group 64) and compares with transformers running on the dequantized
weights. Exit status 0 when every case passes.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

import numpy as np
import torch
import transformers as tf

PROMPT = 64
GREEDY = 32
VOCAB = 512


def configs():
    common = dict(vocab_size=VOCAB, num_hidden_layers=2, max_position_embeddings=512,
                  rms_norm_eps=1e-5)
    yield "llama gqa 6/2", tf.LlamaForCausalLM, tf.LlamaConfig(
        hidden_size=384, intermediate_size=640, num_attention_heads=6, num_key_value_heads=2,
        head_dim=64, tie_word_embeddings=False, **common)
    yield "llama 3.1 rope scaling", tf.LlamaForCausalLM, tf.LlamaConfig(
        hidden_size=256, intermediate_size=512, num_attention_heads=4, num_key_value_heads=4,
        head_dim=64, tie_word_embeddings=False,
        rope_parameters={"rope_type": "llama3", "rope_theta": 500000.0, "factor": 8.0,
                         "low_freq_factor": 1.0, "high_freq_factor": 4.0,
                         "original_max_position_embeddings": 32}, **common)
    yield "llama linear rope", tf.LlamaForCausalLM, tf.LlamaConfig(
        hidden_size=256, intermediate_size=384, num_attention_heads=4, num_key_value_heads=2,
        head_dim=64, tie_word_embeddings=True,
        rope_parameters={"rope_type": "linear", "rope_theta": 10000.0, "factor": 2.0}, **common)
    yield "mistral mqa 5/1", tf.MistralForCausalLM, tf.MistralConfig(
        hidden_size=320, intermediate_size=576, num_attention_heads=5, num_key_value_heads=1,
        head_dim=64, sliding_window=None, tie_word_embeddings=False, **common)
    yield "qwen2 bias 7/1 tied", tf.Qwen2ForCausalLM, tf.Qwen2Config(
        hidden_size=448, intermediate_size=704, num_attention_heads=7, num_key_value_heads=1,
        tie_word_embeddings=True, **common)
    yield "qwen3 qk-norm 6/3", tf.Qwen3ForCausalLM, tf.Qwen3Config(
        hidden_size=256, intermediate_size=512, num_attention_heads=6, num_key_value_heads=3,
        head_dim=64, tie_word_embeddings=True, **common)


def randomize(model, gen):
    """Weights large enough that logits spread out (HF's 0.02 init makes
    near-ties); norm weights around 1."""
    with torch.no_grad():
        for name, p in model.named_parameters():
            if p.dim() == 1 and "norm" in name:
                p.copy_(0.5 + torch.rand(p.shape, generator=gen))
            elif p.dim() == 1:
                p.copy_(0.2 * torch.randn(p.shape, generator=gen))
            else:
                p.copy_(torch.randn(p.shape, generator=gen) / (p.shape[-1] ** 0.5))


def hf_logits(model, ids):
    with torch.no_grad():
        return model(torch.tensor([ids])).logits[0].float().numpy()


def hf_greedy(model, ids, n):
    ids = list(ids)
    out = []
    with torch.no_grad():
        for _ in range(n):
            t = int(model(torch.tensor([ids])).logits[0, -1].float().argmax())
            out.append(t)
            ids.append(t)
    return out


def run_mlxn(args, path, ids, workdir):
    logits_path = os.path.join(workdir, "logits.f32")
    cmd = [args.mlxn, "eval", "-m", path, "--ids", ",".join(map(str, ids)),
           "--logits", logits_path, "--greedy", str(GREEDY), "--backend", args.backend,
           "--kv", "f32"]
    if not args.int8:
        cmd.append("--exact-matvec")
    res = subprocess.run(cmd, capture_output=True, text=True)
    if res.returncode != 0:
        raise RuntimeError("mlxn eval failed: " + res.stderr.strip())
    line = [l for l in res.stdout.splitlines() if l.startswith("greedy:")][0]
    greedy = [int(t) for t in line.split()[1:]]
    logits = np.fromfile(logits_path, dtype=np.float32).reshape(len(ids), -1)
    return logits, greedy


def rel_error(a, ref):
    per_pos = np.abs(a - ref).max(axis=1) / np.abs(ref).max(axis=1)
    return float(per_pos.max())


def dequantize_mlx(path):
    """Weights of an MLX affine safetensors directory, dequantized to f32:
    w = scale * q + bias per group, q packed little-end first in uint32."""
    from safetensors.numpy import load_file
    cfg = json.load(open(os.path.join(path, "config.json")))
    q = cfg["quantization"]
    tensors = {}
    for f in sorted(os.listdir(path)):
        if f.endswith(".safetensors"):
            tensors.update(load_file(os.path.join(path, f)))
    out = {}
    for name, t in tensors.items():
        if name.endswith(".scales") or name.endswith(".biases"):
            continue
        base = name[: -len(".weight")] if name.endswith(".weight") else None
        if base and base + ".scales" in tensors:
            bits, group = q["bits"], q["group_size"]
            over = q.get(base)
            if isinstance(over, dict):
                bits, group = over.get("bits", bits), over.get("group_size", group)
            words = t.astype(np.uint32)
            per = 32 // bits
            shifts = (np.arange(per, dtype=np.uint32) * bits)[None, None, :]
            vals = (words[:, :, None] >> shifts) & ((1 << bits) - 1)
            vals = vals.reshape(words.shape[0], -1).astype(np.float32)
            s = tensors[base + ".scales"].astype(np.float32)
            b = tensors[base + ".biases"].astype(np.float32)
            s = np.repeat(s, group, axis=1)
            b = np.repeat(b, group, axis=1)
            out[name] = vals * s + b
        else:
            out[name] = t.astype(np.float32)
    return out


def check_case(args, name, cls, cfg, seed, workdir):
    gen = torch.Generator().manual_seed(seed)
    model = cls(cfg).float().eval()
    randomize(model, gen)
    ids = torch.randint(0, VOCAB, (PROMPT,), generator=gen).tolist()
    path = os.path.join(workdir, "model")
    notes = ""
    if args.dtype == "bf16":
        model = model.to(torch.bfloat16)
        model.save_pretrained(path, safe_serialization=True)
        native = hf_logits(model, ids)
        # Reload in f32: the same bf16-rounded weights, with buffers such
        # as RoPE's inverse frequencies computed afresh in f32.
        model = cls.from_pretrained(path, dtype=torch.float32).eval()
    else:
        model.save_pretrained(path, safe_serialization=True)
    if args.quant:
        qpath = os.path.join(workdir, "model-q")
        res = subprocess.run([args.mlxn, "quantize", "-m", path, "-o", qpath, "--to", args.quant],
                             capture_output=True, text=True)
        if res.returncode != 0:
            raise RuntimeError("mlxn quantize failed: " + res.stderr.strip())
        deq = dequantize_mlx(qpath)
        state = model.state_dict()
        with torch.no_grad():
            for k in state:
                if k in deq:
                    state[k].copy_(torch.from_numpy(deq[k]).reshape(state[k].shape))
            if getattr(cfg, "tie_word_embeddings", False) and "model.embed_tokens.weight" in deq:
                model.lm_head.weight.copy_(torch.from_numpy(deq["model.embed_tokens.weight"]))
        path = qpath
    ref = hf_logits(model, ids)
    ref_greedy = hf_greedy(model, ids, GREEDY)
    got, got_greedy = run_mlxn(args, path, ids, workdir)
    err = rel_error(got, ref)
    if args.dtype == "bf16":
        notes = f"vs native bf16: {rel_error(got, native):.2e}"
    same = got_greedy == ref_greedy
    ok = err < args.tol and same
    print(f"| {name} | {err:.2e} | {'identical' if same else 'DIFFER'} | "
          f"{'pass' if ok else 'FAIL'} | {notes} |", flush=True)
    if not same:
        print(f"    mlxn: {got_greedy}\n    hf:   {ref_greedy}", flush=True)
    return ok


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--mlxn", default="build/mlxn")
    ap.add_argument("--backend", default="auto")
    ap.add_argument("--dtype", choices=["f32", "bf16"], default="f32")
    ap.add_argument("--quant", choices=["mlx4", "mlx8"], default=None)
    ap.add_argument("--tol", type=float, default=None)
    ap.add_argument("--int8", action="store_true",
                    help="let mlxn round x to 8 bits in one-row 4-bit products (its default); "
                         "without this the comparison runs with --exact-matvec")
    args = ap.parse_args()
    if args.tol is None:
        # f32 weights: f32 everywhere. Quantized weights: the CUDA prefill
        # multiplies the dequantized weights with tf32 inputs (about 2e-3
        # relative on these models); bf16: bf16 rounding of the reference.
        args.tol = 1e-2 if args.dtype != "f32" else 5e-3 if args.quant else 1e-3
    torch.set_num_threads(min(8, os.cpu_count() or 1))
    tf.utils.logging.disable_progress_bar()
    print(f"mlxn vs transformers {tf.__version__}: backend {args.backend}, weights {args.dtype}"
          f"{', ' + args.quant if args.quant else ''}{', int8 x' if args.int8 else ''}, {PROMPT}-token prompt, {GREEDY} greedy steps,"
          f" tolerance {args.tol:g}\n")
    print("| case | max rel. logit error | greedy tokens | result | notes |")
    print("|---|---|---|---|---|")
    failed = 0
    for i, (name, cls, cfg) in enumerate(configs()):
        with tempfile.TemporaryDirectory() as d:
            try:
                failed += not check_case(args, name, cls, cfg, 1000 + i, d)
            except Exception as e:  # report and go on with the other cases
                print(f"| {name} | - | - | FAIL | {e} |", flush=True)
                failed += 1
    print(f"\n{failed} case(s) failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
