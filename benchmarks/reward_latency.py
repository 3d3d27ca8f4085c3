"""Step time of a real GRPO training step with rewards that wait or burn CPU, ours against plain TRL.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/reward_latency.py [--steps 4] [--delay 0.5]

The test suite's tiny random Llama (tests/trainer_support.py), 64 completions a step (8 prompts x
8 generations, 16 new tokens), on CPU; the same reward functions given to the grpo-rewards trainer
(every reward of a step through one Scorer, at the same time) and to plain TRL 1.16's GRPOTrainer
(sync rewards one after another, then async ones gathered). Cases:

- (a) a cheap reward only (``length.target``);
- (b) (a) plus one ``async def`` reward that POSTs each completion to a loopback HTTP endpoint which
  answers after ``--delay`` seconds, 32 requests in flight (``concurrency=32``);
- (c) (a) plus four such rewards;
- (d) (a) plus a CPU-bound reward of about 1 s per batch (64 rows x 15.6 ms), on the process
  executor (killable worker processes);
- (e) (b) with ``beta = 0.04`` (a reference model pass every step).

A callback stamps the wall clock at each step end; the first step of each run is dropped (warm-up,
worker start-up) and the median of the rest is printed. On a shared machine whole steps swing by
seconds, so the time of the reward phase itself (``_calculate_rewards``, wrapped with a clock in
both trainers) is printed beside it: "adds" is that phase's median minus case (a)'s, for the same
trainer, i.e. what the rewards add to a step. Expected for (b) and (c): two waves of 32 requests,
about 2 x delay.
"""

from __future__ import annotations

import argparse
import atexit
import json
import statistics
import subprocess
import sys
import tempfile
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests import runtime_rewards  # noqa: E402
from tests.trainer_support import build_tiny_model  # noqa: E402


class SlowEndpoint(BaseHTTPRequestHandler):
    delay = 0.5
    protocol_version = "HTTP/1.1"  # keep-alive: the client's pooled connections are reused

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        time.sleep(self.delay)
        payload = json.dumps({"score": len(body["completion"]) / 100}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args: object) -> None:
        pass


class Server(ThreadingHTTPServer):
    request_queue_size = 512  # the listen backlog: the default 5 drops a burst of connections (1 s SYN retries)
    daemon_threads = True


def serve(delay: float) -> None:
    """The endpoint's own process (so its threads never compete with the trainer's for one GIL)."""
    SlowEndpoint.delay = delay
    server = Server(("127.0.0.1", 0), SlowEndpoint)
    print(server.server_address[1], flush=True)
    server.serve_forever()


def start_endpoint(delay: float) -> str:
    process = subprocess.Popen(
        [sys.executable, __file__, "--serve", str(delay)], stdout=subprocess.PIPE, text=True, stdin=subprocess.DEVNULL
    )
    atexit.register(process.kill)
    port = int(process.stdout.readline())
    return f"http://127.0.0.1:{port}/score"


def http_floor(url: str, requests: int) -> float:
    """Seconds for ``requests`` POSTs through one httpx client, 32 per reward in flight (median of 3)."""
    import asyncio

    import httpx

    async def measure() -> float:
        async with httpx.AsyncClient(timeout=60, limits=httpx.Limits(max_connections=requests)) as client:
            limits = [asyncio.Semaphore(32) for _ in range(max(1, requests // 64))]

            async def one(i: int) -> None:
                async with limits[i % len(limits)]:
                    (await client.post(url, json={"completion": "x" * (i % 50)})).raise_for_status()

            times = []
            for _ in range(3):
                start = time.perf_counter()
                await asyncio.gather(*(one(i) for i in range(requests)))
                times.append(time.perf_counter() - start)
            return statistics.median(times)

    return asyncio.run(measure())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=4, help="steps per run (the first is dropped)")
    parser.add_argument("--delay", type=float, default=0.5, help="seconds the endpoint waits per request")
    parser.add_argument("--cases", default="a,b,c,d,e")
    parser.add_argument("--serve", type=float, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve is not None:
        return serve(args.serve)

    import torch
    import transformers
    from datasets import Dataset
    from grpo_rewards.trainer.metrics import make_trainer_class
    from grpo_rewards.trainer.model import load_tokenizer
    from transformers import AutoModelForCausalLM, PrinterCallback, TrainerCallback
    from trl import GRPOConfig, GRPOTrainer

    from grpo_rewards import Param, get_registry, reward
    from grpo_rewards.runtime import DEDUP

    DEDUP["enabled"] = False  # every row a real call, in both trainers
    transformers.utils.logging.set_verbosity_error()
    transformers.utils.logging.disable_progress_bar()
    work = Path(tempfile.mkdtemp(prefix="reward-latency-"))
    build_tiny_model(work / "model")
    tokenizer = load_tokenizer(str(work / "model"))
    dataset = Dataset.from_list([{"prompt": f"Write about the number {i}."} for i in range(512)])
    url = start_endpoint(args.delay)

    cheap = get_registry().get("length.target").build({"target": 40}, name="cheap")
    http_spec = reward(
        "bench.http",
        description="waits on a loopback endpoint",
        params=[Param("url", str, "", "endpoint")],
        concurrency=32,
        timeout=60.0,
    )(runtime_rewards.fetch_score).reward_spec
    burn_spec = reward(
        "bench.burn",
        description="~15.6 ms of CPU per row",
        params=[Param("ms", float, 15.6, "ms of CPU")],
        isolation="process",
        timeout=10.0,
    )(runtime_rewards.burn).reward_spec

    def http(name: str):
        return http_spec.build({"url": url}, name=name)

    cases = {
        "a": ("cheap reward only", [cheap], 0.0),
        "b": ("+ 1 async HTTP reward", [cheap, http("http1")], 0.0),
        "c": ("+ 4 async HTTP rewards", [cheap, *(http(f"http{i}") for i in range(1, 5))], 0.0),
        "d": ("+ CPU-bound, worker processes", [cheap, burn_spec.build({"ms": 15.6}, name="burn")], 0.0),
        "e": ("(b) with beta = 0.04", [cheap, http("http1")], 0.04),
    }

    class StepClock(TrainerCallback):
        def __init__(self) -> None:
            self.stamps: list[float] = []

        def on_step_begin(self, a, state, control, **kw):
            if not self.stamps:
                self.stamps.append(time.perf_counter())

        def on_step_end(self, a, state, control, **kw):
            self.stamps.append(time.perf_counter())

    trainer_class = make_trainer_class()
    phase: list[float] = []

    def clocked(method):
        def wrapper(self, *a, **kw):
            start = time.perf_counter()
            try:
                return method(self, *a, **kw)
            finally:
                if getattr(self, "_clock_reward_phase", False):
                    phase.append(time.perf_counter() - start)

        return wrapper

    # our class calls TRL's method only for callables that are not ours: clock the outermost call only
    trainer_class._calculate_rewards = clocked(trainer_class._calculate_rewards)
    GRPOTrainer._calculate_rewards = clocked(GRPOTrainer._calculate_rewards)

    def run(ours: bool, funcs: list, beta: float, index: int) -> tuple[float, float]:
        config = GRPOConfig(
            output_dir=str(work / f"run-{index}"),
            use_cpu=True,
            bf16=False,
            learning_rate=1e-4,
            beta=beta,
            num_generations=8,
            per_device_train_batch_size=64,
            max_completion_length=8,
            max_steps=args.steps,
            logging_steps=1,
            save_strategy="no",
            report_to="none",
            disable_tqdm=True,
            seed=7,
            activation_checkpointing=False,
        )
        clock = StepClock()
        model = AutoModelForCausalLM.from_pretrained(str(work / "model"), dtype=torch.float32)
        common = dict(model=model, reward_funcs=funcs, args=config, train_dataset=dataset, processing_class=tokenizer)
        trainer = trainer_class(**common, samples_per_step=0) if ours else GRPOTrainer(**common)
        trainer.add_callback(clock)
        trainer.remove_callback(PrinterCallback)
        trainer._clock_reward_phase = True
        phase.clear()
        trainer.train()
        steps = [b - a for a, b in zip(clock.stamps, clock.stamps[1:])][1:]
        return statistics.median(steps), statistics.median(phase[1:] or phase)

    floor = {k: http_floor(url, 64 * k) for k in (1, 4)}
    print(
        f"floor: the same requests made by httpx alone (asyncio.gather, 32 in flight per reward, no runtime, "
        f"no trainer): 64 requests {floor[1]:.2f} s, 4 x 64 requests {floor[4]:.2f} s"
    )
    print(
        f"tiny random Llama, 64 completions/step (8 prompts x 8), 8 new tokens, CPU; endpoint delay {args.delay:g} s, "
        f"concurrency 32; median of {args.steps - 1} steps after the first"
    )
    results: dict[str, dict[bool, tuple[float, float]]] = {}
    index = 0
    for key in args.cases.split(","):
        label, funcs, beta = cases[key]
        results[key] = {}
        for ours in (True, False):
            index += 1
            results[key][ours] = run(ours, funcs, beta, index)
        (os, orw), (ps, prw) = results[key][True], results[key][False]
        print(
            f"  ({key}) {label}: ours {os:.2f} s/step (rewards {orw:.2f} s), plain TRL {ps:.2f} s/step (rewards {prw:.2f} s)",
            flush=True,
        )
    print(f"\n{'case':<34} {'ours: step s':>12} {'rewards s':>9} {'adds':>6} {'TRL: step s':>12} {'rewards s':>9} {'adds':>6}")
    base = results.get("a", {True: (0.0, 0.0), False: (0.0, 0.0)})
    for key in results:
        label = f"({key}) {cases[key][0]}"
        (ours_step, ours_rewards), (plain_step, plain_rewards) = results[key][True], results[key][False]
        print(
            f"{label:<34} {ours_step:>12.2f} {ours_rewards:>9.2f} {ours_rewards - base[True][1]:>+6.2f} "
            f"{plain_step:>12.2f} {plain_rewards:>9.2f} {plain_rewards - base[False][1]:>+6.2f}"
        )


if __name__ == "__main__":
    main()
