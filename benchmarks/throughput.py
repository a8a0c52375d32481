"""Training throughput of kssl: samples/s per zoo recipe per backend, and kssl's composition overhead.

    python benchmarks/throughput.py                       # CPU: every zoo recipe on tensorflow and jax
    python benchmarks/throughput.py --recipes simclr vae --backends tensorflow --steps 4
    python benchmarks/throughput.py --gpu                 # GPU: ResNet-18, 32x32, batch 512, bf16, XLA (+ PyTorch reference)
    python benchmarks/throughput.py --vit --backends tensorflow jax torch   # the ViT recipes against ResNet-10 dino
    python benchmarks/throughput.py --recipes mae dino_vit dino --reference dino

Prints a table and writes JSON (``--output``, default ``benchmarks/results/<mode>-<host>.json``;
with ``--vit``, ``benchmarks/results/throughput_vit-<host>.json``).

* Throughput: ``model.fit`` on the recipe's data exactly as ``kssl train`` feeds it (the
  builder's model and ``kssl.training.fit_input``), timed as whole ``fit`` calls: after one
  untimed call that compiles, a ``fit`` of ``--warmup`` batches against one of ``--warmup``
  + ``--steps`` batches; samples/s = steps x global batch / the difference of the two
  (fit's set-up cancels; no per-batch callback, which would make Keras wait for every
  step). Each measurement runs in its own process (the backend is fixed per process).
* Composition overhead: kssl's SimCLR (recipe -> builder) against a hand-written
  plain-Keras SimCLR with the same encoder, augmenter, projection head, optimizer and
  batch, measured alternately in one process (``--overhead-rounds`` rounds, the order
  flipping each round); ratio = median kssl samples/s / median plain samples/s
  (>= 1.00: kssl costs nothing).
* ``--reference NAME``: each row also gets its rate divided by the rate of the zoo recipe
  NAME on the same backend in the same run (``ratio``, wall clock, and ``cpu_ratio``, per
  CPU-second; NAME is measured too), so recipes compare within one run on a noisy machine.
  ``--vit``: every zoo recipe whose encoder is ``vit`` (read from the YAML, so a new one, e.g.
  ``mae``, is included when it appears) and ``dino`` (ResNet-10) as the reference, measured
  back to back per backend; no composition-overhead measurement.
* ``--gpu``: the same measurements for one synthetic GPU configuration (CIFAR-style
  ResNet-18 width 64, 32x32x3 inputs, batch 512, mixed_bfloat16, jit_compile) with and
  without the in-model augmenter on each Keras backend in ``--backends`` (torch too, when
  named), and, when PyTorch is installed (unless ``--no-reference``), the same model
  (ResNet-18 + projection head + NT-Xent, no augmentation) in plain PyTorch with bf16
  autocast and torch.compile.

Not a test: numbers depend on the machine and on its load (recorded in the JSON).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
GPU_BATCH = 512

GPU_RECIPE = {
    "name": "gpu-simclr-resnet18",
    "seed": 0,
    "data": {"type": "digits"},  # not built: synthetic 32x32x3 images are used (see _gpu_data)
    "augmenter": {"type": "simclr", "crop_scale": [0.2, 1.0], "jitter_strength": 0.5, "blur_probability": 0.0},
    "encoder": {"type": "resnet", "depth": 18, "width": 64},
    "pretext": {"type": "simclr", "projection_dim": 128, "projection_hidden_dims": [512], "temperature": 0.2},
    "optimizer": {"type": "adamw", "learning_rate": 1.0e-3, "weight_decay": 1.0e-4},
    "train": {"precision": "mixed_bfloat16", "jit_compile": True},
    "distribution": {"strategy": "auto"},
}


# -- measurement (runs inside a worker process) ------------------------------------------------


def _timed_fit(model, x, fit_kwargs, batch_size: int, warmup: int, steps: int, cpu: bool = False, compiled: bool = False):
    """samples/s of ``steps`` training batches, from whole ``fit`` calls.

    Times ``fit`` over ``warmup`` batches and over ``warmup + steps`` batches and
    divides the ``steps`` extra batches by the difference, so fit's own set-up and
    teardown cancel; unless ``compiled``, one untimed ``fit`` compiles the step first.
    No per-batch callback is attached: Keras dispatches steps asynchronously only
    when no callback hooks the end of a batch (one that does makes every step wait
    for the previous one), and ``kssl train`` runs that way.

    With ``cpu=True`` also samples per CPU-second of this process (all its threads):
    on a shared, loaded machine wall-clock rates swing with the neighbours' load,
    the CPU time a step consumes much less.
    """
    warmup = max(warmup, 1)

    def run(n: int):
        wall, proc = time.perf_counter(), time.process_time()
        model.fit(x, epochs=1, steps_per_epoch=n, verbose=0, **fit_kwargs)  # returns once the epoch's logs are on the host
        return time.perf_counter() - wall, time.process_time() - proc

    if not compiled:
        run(warmup)
    short, long = run(warmup), run(warmup + steps)
    done = steps * batch_size
    wall = done / max(long[0] - short[0], 1e-9)
    return (wall, done / max(long[1] - short[1], 1e-9)) if cpu else wall


def _repeat(x, n: int):
    import numpy as np

    reps = -(-n // len(x))
    return np.concatenate([x] * reps, axis=0)[:n] if reps > 1 else x


def _fit_input(model, x, batch_size, seed):
    from kssl.training import fit_input

    return fit_input(model, x, batch_size, shuffle=True, seed=seed)


def measure_recipe(source, overrides, warmup: int, steps: int) -> dict:
    import keras

    from kssl.builder import build_all

    started = time.perf_counter()
    built = build_all(source, overrides)
    model, data = built.model, built.data
    batch = data.batch_size
    x = _repeat(data.x_train, (warmup + steps + 1) * batch)  # enough whole batches for one epoch of the timed fit
    fit_x, fit_kwargs = _fit_input(model, x, batch, built.recipe["seed"])
    build_seconds = time.perf_counter() - started
    samples_per_second, per_cpu_second = _timed_fit(model, fit_x, fit_kwargs, batch, warmup, steps, cpu=True)
    return {
        "recipe": built.recipe["name"],
        "pretext": built.recipe["pretext"]["type"],
        "backend": keras.backend.backend(),
        "batch_size": batch,
        "precision": built.recipe["train"]["precision"],
        "jit_compile": built.recipe["train"]["jit_compile"],
        "parameters": int(model.count_params()),
        "build_seconds": round(build_seconds, 2),
        "samples_per_second": round(samples_per_second, 2),
        "samples_per_cpu_second": round(per_cpu_second, 2),
    }


def _plain_simclr_class():
    import keras
    from keras import ops

    class PlainSimCLR(keras.Model):
        """SimCLR as a Keras user writes it by hand: two augmented views, encoder, MLP head, NT-Xent."""

        def __init__(self, encoder, augmenter, projection_dim, hidden_dims, temperature):
            super().__init__()
            self.encoder = encoder
            self.augmenter = augmenter
            self.temperature = temperature
            layers = []
            for width in hidden_dims:
                layers += [keras.layers.Dense(width, use_bias=False), keras.layers.BatchNormalization(), keras.layers.ReLU()]
            self.projector = keras.Sequential(layers + [keras.layers.Dense(projection_dim)])

        def call(self, x, training=False):
            if training and self.augmenter is not None:
                x1, x2 = self.augmenter(x, training=True), self.augmenter(x, training=True)
            else:
                x1 = x2 = x
            h = self.encoder(ops.concatenate([x1, x2], axis=0), training=training)
            return self.projector(h, training=training)

        def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
            z = ops.cast(y_pred, "float32")
            z = z / ops.maximum(ops.norm(z, axis=1, keepdims=True), 1e-12)
            n2 = ops.shape(z)[0]
            n = n2 // 2
            logits = ops.matmul(z, ops.transpose(z)) / self.temperature - ops.eye(n2) * 1e9
            labels = ops.concatenate([ops.arange(n, n2), ops.arange(0, n)], axis=0)
            return ops.mean(keras.losses.sparse_categorical_crossentropy(labels, logits, from_logits=True))

    return PlainSimCLR


def measure_overhead(recipe: dict, x, batch_size: int, warmup: int, steps: int, rounds: int) -> dict:
    """kssl's SimCLR vs the hand-written one, same components, timed alternately."""
    import keras

    from kssl.builder import build_model, make_component
    from kssl.data.splits import DataSplits
    from kssl.optimizers import optimizer_from_recipe
    from kssl.plugins import get_registry

    registry = get_registry()
    data = DataSplits(x_train=x, batch_size=batch_size)
    kssl_model = build_model(recipe, data, registry)
    keras.utils.set_random_seed(recipe["seed"])
    context = data.factory_context()
    encoder = make_component(registry, "encoder", recipe["encoder"], "encoder", context)
    augmenter = make_component(registry, "augmenter", recipe["augmenter"], "augmenter", context) if recipe.get("augmenter") else None
    spec = recipe["pretext"]
    plain = _plain_simclr_class()(encoder, augmenter, spec["projection_dim"], spec["projection_hidden_dims"], spec["temperature"])
    plain(x[:2])
    plain.compile(optimizer=optimizer_from_recipe(recipe["optimizer"], steps_total=1000), jit_compile=recipe["train"]["jit_compile"])
    fit_x = _repeat(x, (warmup + steps + 1) * batch_size)
    models = {"kssl": kssl_model, "plain": plain}
    for model in models.values():  # compile both before timing
        model.fit(fit_x, epochs=1, steps_per_epoch=1, batch_size=batch_size, verbose=0)
    runs = {"kssl": [], "plain": []}
    cpu_runs = {"kssl": [], "plain": []}
    for r in range(rounds):
        order = ["kssl", "plain"] if r % 2 == 0 else ["plain", "kssl"]
        for name in order:
            wall, per_cpu = _timed_fit(models[name], fit_x, {"batch_size": batch_size, "shuffle": False}, batch_size, warmup, steps, cpu=True, compiled=True)
            runs[name].append(wall)
            cpu_runs[name].append(per_cpu)
    kssl_median, plain_median = statistics.median(runs["kssl"]), statistics.median(runs["plain"])
    paired = [k / p for k, p in zip(runs["kssl"], runs["plain"])]  # each round's two runs are adjacent in time
    cpu_ratio = statistics.median(cpu_runs["kssl"]) / statistics.median(cpu_runs["plain"])
    return {
        "backend": keras.backend.backend(),
        "batch_size": batch_size,
        "rounds": rounds,
        "steps_per_round": steps,
        "kssl_samples_per_second": [round(v, 2) for v in runs["kssl"]],
        "plain_samples_per_second": [round(v, 2) for v in runs["plain"]],
        "kssl_samples_per_cpu_second": [round(v, 2) for v in cpu_runs["kssl"]],
        "plain_samples_per_cpu_second": [round(v, 2) for v in cpu_runs["plain"]],
        "kssl_median": round(kssl_median, 2),
        "plain_median": round(plain_median, 2),
        "ratio": round(kssl_median / plain_median, 3),
        "paired_ratio_median": round(statistics.median(paired), 3),
        "cpu_ratio": round(cpu_ratio, 3),
        "parameters": {"kssl": int(kssl_model.count_params()), "plain": int(plain.count_params())},
    }


def _cpu_overhead_recipe(overrides) -> tuple[dict, object, int]:
    """The zoo SimCLR recipe and its training images."""
    from kssl.builder import make_component
    from kssl.plugins import get_registry
    from kssl.recipe import load_recipe

    recipe = load_recipe("simclr", overrides)
    data = make_component(get_registry(), "dataset", recipe["data"], "data")
    return recipe, data.x_train, data.batch_size


def _gpu_data(n: int):
    import numpy as np

    return np.random.default_rng(0).random((n, 32, 32, 3), dtype=np.float32)


def _devices() -> list[str]:
    import keras

    if keras.backend.backend() == "torch":  # keras.distribution is not implemented on torch
        import torch

        return [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())] or ["cpu"]
    return [str(d) for d in keras.distribution.list_devices()]


def measure_gpu(warmup: int, steps: int, rounds: int) -> dict:
    import keras

    from kssl.builder import build_model
    from kssl.data.splits import DataSplits
    from kssl.plugins import get_registry
    from kssl.recipe import load_recipe

    out = {"backend": keras.backend.backend(), "devices": _devices()}
    x = _gpu_data(GPU_BATCH * (warmup + steps + 1))
    for label, with_augmenter in (("with_augmenter", True), ("without_augmenter", False)):
        spec = dict(GPU_RECIPE)
        if not with_augmenter:
            spec.pop("augmenter")
        recipe = load_recipe(spec)
        model = build_model(recipe, DataSplits(x_train=x, batch_size=GPU_BATCH), get_registry())
        fit_x, fit_kwargs = _fit_input(model, x, GPU_BATCH, 0)
        out[label] = round(_timed_fit(model, fit_x, fit_kwargs, GPU_BATCH, warmup, steps), 1)
    out["overhead"] = measure_overhead(load_recipe(dict(GPU_RECIPE)), x, GPU_BATCH, warmup, steps, rounds)
    keras.mixed_precision.set_global_policy("float32")
    return out


def measure_torch_reference(warmup: int, steps: int) -> dict:
    """ResNet-18 (CIFAR stem) + projection head + NT-Xent in plain PyTorch: bf16 autocast, torch.compile."""
    import torch
    import torch.nn.functional as F
    from torch import nn

    device = "cuda" if torch.cuda.is_available() else "cpu"

    class Block(nn.Module):
        def __init__(self, cin, cout, stride):
            super().__init__()
            self.c1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
            self.b1 = nn.BatchNorm2d(cout)
            self.c2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
            self.b2 = nn.BatchNorm2d(cout)
            self.short = nn.Sequential()
            if stride != 1 or cin != cout:
                self.short = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

        def forward(self, x):
            y = F.relu(self.b1(self.c1(x)))
            return F.relu(self.b2(self.c2(y)) + self.short(x))

    class Net(nn.Module):
        def __init__(self, width=64, proj_hidden=512, proj_dim=128):
            super().__init__()
            self.stem = nn.Sequential(nn.Conv2d(3, width, 3, 1, 1, bias=False), nn.BatchNorm2d(width), nn.ReLU())
            blocks, cin = [], width
            for stage in range(4):
                for b in range(2):
                    cout = width * 2**stage
                    blocks.append(Block(cin, cout, 2 if stage > 0 and b == 0 else 1))
                    cin = cout
            self.blocks = nn.Sequential(*blocks)
            self.head = nn.Sequential(nn.Linear(cin, proj_hidden, bias=False), nn.BatchNorm1d(proj_hidden), nn.ReLU(), nn.Linear(proj_hidden, proj_dim))

        def forward(self, x):
            h = self.blocks(self.stem(x)).mean(dim=(2, 3))
            return self.head(h)

    def nt_xent(z, t=0.2):
        z = F.normalize(z.float(), dim=1)
        n2 = z.shape[0]
        logits = z @ z.T / t - torch.eye(n2, device=z.device) * 1e9
        labels = torch.cat([torch.arange(n2 // 2, n2), torch.arange(0, n2 // 2)]).to(z.device)
        return F.cross_entropy(logits, labels)

    torch.manual_seed(0)
    net = Net().to(device).to(memory_format=torch.channels_last)
    opt = torch.optim.AdamW(net.parameters(), lr=1e-3, weight_decay=1e-4)

    def step(x):
        with torch.autocast(device_type=device, dtype=torch.bfloat16):
            z = net(torch.cat([x, x.flip(3)], dim=0))  # two views: the batch and its mirror image
        loss = nt_xent(z)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        return loss

    compiled = torch.compile(step)
    x = torch.rand(GPU_BATCH, 3, 32, 32, device=device).to(memory_format=torch.channels_last)
    for _ in range(warmup):
        compiled(x).item()
    start = time.perf_counter()
    for _ in range(steps):
        loss = compiled(x)
    loss.item()
    seconds = time.perf_counter() - start
    return {"backend": f"torch {torch.__version__}", "device": device, "samples_per_second": round(steps * GPU_BATCH / seconds, 1)}


def worker(argv) -> None:
    """Run one measurement in this process and print it as one JSON line."""
    parser = argparse.ArgumentParser()
    parser.add_argument("kind", choices=["recipe", "overhead", "gpu", "torch"])
    parser.add_argument("--recipe")
    parser.add_argument("--set", dest="overrides", action="append", default=[])
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=5)
    a = parser.parse_args(argv)
    if a.kind == "recipe":
        result = measure_recipe(a.recipe, a.overrides, a.warmup, a.steps)
    elif a.kind == "overhead":
        recipe, x, batch = _cpu_overhead_recipe(a.overrides)
        result = measure_overhead(recipe, x, batch, a.warmup, a.steps, a.rounds)
    elif a.kind == "gpu":
        result = measure_gpu(a.warmup, a.steps, a.rounds)
    else:
        result = measure_torch_reference(a.warmup, a.steps)
    print("RESULT " + json.dumps(result), flush=True)


# -- the driver --------------------------------------------------------------------------------


def _run_worker(backend: str | None, args: list[str], timeout: int) -> dict:
    env = dict(os.environ)
    env.pop("TF_CONFIG", None)
    env["TF_CPP_MIN_LOG_LEVEL"] = "3"
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    if backend:
        env["KERAS_BACKEND"] = backend
    started = time.perf_counter()
    try:
        proc = subprocess.run([sys.executable, __file__, "_worker", *args], capture_output=True, text=True, timeout=timeout, env=env, cwd=REPO)
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {timeout} s"}
    lines = [line for line in proc.stdout.splitlines() if line.startswith("RESULT ")]
    if proc.returncode != 0 or not lines:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-3:]
        return {"error": " | ".join(tail)[-400:] or f"exit code {proc.returncode}"}
    result = json.loads(lines[-1][len("RESULT ") :])
    result["process_seconds"] = round(time.perf_counter() - started, 1)
    return result


def _machine() -> dict:
    info = {"host": socket.gethostname(), "platform": platform.platform(), "python": platform.python_version(), "cpus": os.cpu_count()}
    try:
        info["load_average_1_5_15"] = [round(v, 2) for v in os.getloadavg()]
    except OSError:
        pass
    versions = {}
    for module in ("keras", "tensorflow", "jax", "torch"):
        try:
            versions[module] = __import__(module).__version__
        except Exception:  # noqa: BLE001 - an absent backend is reported as absent
            versions[module] = None
    info["versions"] = versions
    return info


def vit_recipes() -> list[str]:
    """The zoo recipes whose encoder is ``vit``, read as plain YAML (no recipe checks, no Keras)."""
    import yaml

    from kssl.recipe import zoo_recipes

    names = []
    for name, path in zoo_recipes().items():
        try:
            spec = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
        except (OSError, yaml.YAMLError):
            continue  # a broken recipe is not this benchmark's business: kssl validate reports it
        encoder = spec.get("encoder") if isinstance(spec, dict) else None
        if isinstance(encoder, dict) and encoder.get("type") == "vit":
            names.append(name)
    return names


def add_ratios(rows: list[dict], reference: str) -> None:
    """Give each row its rate relative to ``reference``'s row on the same backend (in place); rows with errors get none."""
    base = {r["backend"]: r for r in rows if r.get("zoo") == reference and "error" not in r}
    for r in rows:
        ref = base.get(r["backend"])
        if ref is None or "error" in r:
            continue
        r["relative_to"] = reference
        r["ratio"] = round(r["samples_per_second"] / ref["samples_per_second"], 3)
        r["cpu_ratio"] = round(r["samples_per_cpu_second"] / ref["samples_per_cpu_second"], 3)


def _available(backend: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(backend) is not None


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backends", nargs="+", default=["tensorflow", "jax"], choices=["tensorflow", "jax", "torch"])
    parser.add_argument("--recipes", nargs="+", default=None, help="zoo recipe names (default: all)")
    parser.add_argument("--reference", default=None, metavar="NAME", help="also report each rate relative to this zoo recipe's, same backend and run")
    parser.add_argument("--vit", action="store_true", help="the zoo's ViT recipes and dino (ResNet-10) as the reference; no overhead measurement")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY.PATH=VALUE", help="override every recipe (repeatable)")
    parser.add_argument("--jax-jit", choices=["recipe", "true"], default="true", help="JAX without XLA runs op by op; 'true' measures it compiled (default)")
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--overhead-rounds", type=int, default=5)
    parser.add_argument("--overhead-steps", type=int, default=3)
    parser.add_argument("--no-overhead", action="store_true")
    parser.add_argument("--gpu", action="store_true", help="the GPU configuration (ResNet-18, 32x32, batch 512, bf16, XLA)")
    parser.add_argument("--no-reference", action="store_true", help="--gpu: skip the plain PyTorch reference")
    parser.add_argument("--timeout", type=int, default=1800, help="seconds per measurement process")
    parser.add_argument("--output", type=Path, default=None)
    a = parser.parse_args(argv)

    backends = [b for b in a.backends if _available(b)]
    if a.vit and not a.gpu:
        sys.path.insert(0, str(REPO))
        a.reference = a.reference or "dino"
        a.recipes = a.recipes or [*vit_recipes(), a.reference]
        a.no_overhead = True
    if a.reference and a.recipes and a.reference not in a.recipes:
        a.recipes = [*a.recipes, a.reference]
    report = {
        "mode": "gpu" if a.gpu else "cpu",
        "machine": _machine(),
        "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "settings": {"warmup": a.warmup, "steps": a.steps, "overrides": a.overrides, "jax_jit": a.jax_jit, "reference": a.reference},
        "throughput": [],
        "overhead": [],
        "skipped_backends": sorted(set(a.backends) - set(backends)),
    }
    prefix = "throughput_vit" if a.vit and not a.gpu else report["mode"]
    output = a.output or HERE / "results" / f"{prefix}-{socket.gethostname()}.json"

    def save():  # after every measurement: a run cut short keeps what it measured
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")

    if a.gpu:
        for backend in backends:  # kssl on each Keras backend asked for (torch too, when named)
            result = _run_worker(backend, ["gpu", "--warmup", str(a.warmup), "--steps", str(a.steps), "--rounds", str(a.overhead_rounds)], a.timeout)
            result.setdefault("backend", backend)
            report["gpu"] = report.get("gpu", []) + [result]
            save()
            print(json.dumps(result), flush=True)
        if _available("torch") and not a.no_reference:
            report["torch_reference"] = _run_worker(None, ["torch", "--warmup", str(a.warmup), "--steps", str(a.steps)], a.timeout)
            print("torch reference: " + json.dumps(report["torch_reference"]), flush=True)
    else:
        sys.path.insert(0, str(REPO))
        from kssl.recipe import zoo_recipes

        recipes = a.recipes or list(zoo_recipes())
        for backend in backends:
            jit = ["train.jit_compile=true"] if backend == "jax" and a.jax_jit == "true" else []
            for name in recipes:
                args = ["recipe", "--recipe", name, "--warmup", str(a.warmup), "--steps", str(a.steps)]
                for item in [*a.overrides, *jit]:
                    args += ["--set", item]
                result = _run_worker(backend, args, a.timeout)
                result.update(zoo=name, backend=backend)
                report["throughput"].append(result)
                save()
                print(_row(result), flush=True)
            if not a.no_overhead:
                args = ["overhead", "--warmup", "1", "--steps", str(a.overhead_steps), "--rounds", str(a.overhead_rounds)]
                for item in [*a.overrides, *jit]:
                    args += ["--set", item]
                result = _run_worker(backend, args, a.timeout)
                result["backend"] = backend
                report["overhead"].append(result)
                save()
                print(
                    f"overhead {backend}: "
                    + (
                        f"ratio {result['ratio']:.3f} (kssl {result['kssl_median']} vs plain {result['plain_median']} samples/s)"
                        if "ratio" in result
                        else result["error"]
                    ),
                    flush=True,
                )
    if a.reference and report["throughput"]:
        add_ratios(report["throughput"], a.reference)
    report["finished"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    _print_table(report)
    save()
    print(f"wrote {output}")
    return 0


def _row(r: dict) -> str:
    if "error" in r:
        return f"{r.get('zoo', '?'):<10} {r.get('backend', '?'):<11} ERROR {r['error']}"
    relative = f"  {r['ratio']:.2f}x / {r['cpu_ratio']:.2f}x per CPU-s of {r['relative_to']}" if "ratio" in r else ""
    return (
        f"{r['zoo']:<10} {r['backend']:<11} {r['samples_per_second']:>10.1f} samples/s {r['samples_per_cpu_second']:>10.1f} per CPU-s  "
        f"batch {r['batch_size']:<4} jit {str(r['jit_compile']):<5} {r['precision']}{relative}"
    )


def _print_table(report: dict) -> None:
    print()
    if report["throughput"]:
        print(f"{'recipe':<10} {'backend':<11} {'samples/s':>10} {'samples/CPU-s':>19}")
        for r in report["throughput"]:
            print(_row(r))
    for r in report["overhead"]:
        if "ratio" in r:
            print(
                f"composition overhead ({r['backend']}): kssl/plain = {r['ratio']:.3f} wall-clock medians "
                f"({r['kssl_median']} / {r['plain_median']} samples/s), {r['paired_ratio_median']:.3f} median of paired rounds, "
                f"{r['cpu_ratio']:.3f} per CPU-second; {r['rounds']} alternating rounds"
            )
        else:
            print(f"composition overhead ({r['backend']}): ERROR {r['error']}")
    for r in report.get("gpu", []):
        print(f"gpu {r.get('backend')}: " + json.dumps({k: v for k, v in r.items() if k != "overhead"}))
        if "overhead" in r:
            print(f"  composition overhead kssl/plain = {r['overhead']['ratio']:.3f}")
    if "torch_reference" in report:
        print("torch reference: " + json.dumps(report["torch_reference"]))


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "_worker":
        sys.path.insert(0, str(REPO))
        worker(sys.argv[2:])
    else:
        sys.exit(main())
