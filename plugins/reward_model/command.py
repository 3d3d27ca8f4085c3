"""The ``grpo-rewards serve-rewards CONFIG`` command: its options and start-up.

Kept apart from :mod:`.server` so that the CLI loads without the ``[serve]`` extra and says how to
install it when it is missing.
"""

from __future__ import annotations

from pathlib import Path

import click

from .limits import (
    DEFAULT_BODY_TIMEOUT,
    DEFAULT_HEADER_TIMEOUT,
    DEFAULT_MAX_BODY_MB,
    DEFAULT_MAX_CONNECTIONS,
    DEFAULT_MAX_ROWS,
    DEFAULT_QUEUE,
    DEFAULT_REQUEST_TIMEOUT,
    DEFAULT_THREADS,
    INSTALL_HINT,
    TOKEN_ENV,
)
from .openrlhf import DEFAULT_STRIP, OPENRLHF_PATH, Mapping
from .protocol import HEALTH_PATH, SCORE_PATH


@click.command("serve-rewards")
@click.argument("config", type=click.Path(path_type=Path))
@click.option(
    "--host", default="127.0.0.1", show_default=True, help="Interface to listen on (0.0.0.0 exposes it: set a --token)."
)
@click.option("--port", type=click.IntRange(0, 65535), default=8000, show_default=True, help="Port (0: any free one).")
@click.option(
    "--max-rows", type=click.IntRange(1), default=DEFAULT_MAX_ROWS, show_default=True, help="Most rows one request may carry."
)
@click.option(
    "--max-body-mb", type=click.IntRange(1), default=DEFAULT_MAX_BODY_MB, show_default=True, help="Largest request body, in MiB."
)
@click.option(
    "--threads", type=click.IntRange(1, 256), default=DEFAULT_THREADS, show_default=True, help="Requests scored at once."
)
@click.option(
    "--queue",
    type=click.IntRange(0, 4096),
    default=DEFAULT_QUEUE,
    show_default=True,
    help="Requests that may wait for a scoring thread (bodies unread); beyond that, 503 with Retry-After.",
)
@click.option(
    "--max-connections",
    type=click.IntRange(1, 4096),
    default=DEFAULT_MAX_CONNECTIONS,
    show_default=True,
    help="Connections open at once (reading, waiting, idle keep-alive); beyond that, 503 with Retry-After.",
)
@click.option(
    "--header-timeout",
    type=click.FloatRange(0.1),
    default=DEFAULT_HEADER_TIMEOUT,
    show_default=True,
    help="Seconds from a request's start (its connection's accept) to the end of its headers (also the keep-alive idle limit).",
)
@click.option(
    "--body-timeout",
    type=click.FloatRange(0.1),
    default=DEFAULT_BODY_TIMEOUT,
    show_default=True,
    help="Seconds from a request's start by which its body must have arrived.",
)
@click.option(
    "--request-timeout",
    type=click.FloatRange(0.1),
    default=DEFAULT_REQUEST_TIMEOUT,
    show_default=True,
    help="Seconds from a request's start to its answer, scoring included; rows not scored by then are null.",
)
@click.option(
    "--token",
    envvar=TOKEN_ENV,
    default=None,
    show_envvar=True,
    help="Require 'Authorization: Bearer TOKEN' on every request (reward_model.remote: api_key_env).",
)
@click.option(
    "--openrlhf-label-column",
    default=None,
    help="POST /openrlhf: the column OpenRLHF's labels fill (default: the one column the reward set reads).",
)
@click.option(
    "--openrlhf-strip",
    multiple=True,
    help="POST /openrlhf: an end-of-sequence marker cut off the end of each response (repeatable; "
    f"default: {' '.join(DEFAULT_STRIP)}).",
)
@click.option(
    "--openrlhf-null-reward",
    type=float,
    default=None,
    help="POST /openrlhf: the reward sent for a row no reward scored (default: the lowest total the "
    "rewards' declared ranges allow; required when one is unbounded below).",
)
@click.option("--verbose", is_flag=True, help="Log every request to stderr.")
def serve_rewards(
    config: Path,
    host: str,
    port: int,
    max_rows: int,
    max_body_mb: int,
    threads: int,
    queue: int,
    max_connections: int,
    header_timeout: float,
    body_timeout: float,
    request_timeout: float,
    token: str | None,
    openrlhf_label_column: str | None,
    openrlhf_strip: tuple[str, ...],
    openrlhf_null_reward: float | None,
    verbose: bool,
) -> None:
    """Serve the reward set in CONFIG over HTTP (POST /score, GET /health) for `reward_model.remote`."""
    from grpo_rewards.terminal import console, fail, load_reward_set_or_fail

    try:
        from .server import make_server
    except ImportError as exc:
        fail(f"{INSTALL_HINT} ({exc})")
    reward_set = load_reward_set_or_fail(config)
    try:
        server = make_server(
            reward_set,
            host,
            port,
            max_rows=max_rows,
            max_body_bytes=max_body_mb * 1024 * 1024,
            verbose=verbose,
            threads=threads,
            queue=queue,
            max_connections=max_connections,
            header_timeout=header_timeout,
            body_timeout=body_timeout,
            request_timeout=request_timeout,
            token=token,
            openrlhf=Mapping(openrlhf_label_column, openrlhf_strip or DEFAULT_STRIP, openrlhf_null_reward),
        )
    except OSError as exc:
        fail(f"cannot listen on {host}:{port}: {exc}")
    console.print(
        f"serving {len(reward_set.rewards)} reward(s) ({', '.join(reward_set.names)}) from {config}: "
        f"POST {server.url}, GET {server.url.removesuffix(SCORE_PATH)}{HEALTH_PATH}; Ctrl+C stops",
        highlight=False,
        soft_wrap=True,
    )
    plan = server.service.openrlhf
    openrlhf_url = server.url.removesuffix(SCORE_PATH) + OPENRLHF_PATH
    if plan.problem:
        console.print(f"OpenRLHF (POST {openrlhf_url}) refused until restarted: {plan.problem}", highlight=False, soft_wrap=True)
    else:
        console.print(
            f"OpenRLHF: --reward.remote_url {openrlhf_url} (labels -> column {plan.label_column or '(several: send objects)'}, "
            f"a row no reward scored -> {plan.null_reward:g})",
            highlight=False,
            soft_wrap=True,
        )
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        console.print("stopped")
    finally:
        server.server_close()
