"""``grpo-rewards judge serve MODEL``: the local judge server (:mod:`.local_server`) in the foreground.

The same server ``base_url = "local"`` starts inside the scoring process, run on its own so that
several trainers or a benchmark can share one loaded model, or so that a test can kill it.
"""

from __future__ import annotations

import click


@click.command()
@click.argument("model")
@click.option("--port", type=click.IntRange(0, 65535), default=8000, show_default=True, help="0: any free port.")
@click.option("--device", default="auto", show_default=True, help="'auto', 'cpu', 'cuda' or 'cuda:N'.")
def serve(model: str, port: int, device: str) -> None:
    """Serve MODEL (builtin:smollm2, a model folder or a .gguf file) as an OpenAI-compatible
    chat-completions endpoint on 127.0.0.1, for judge entries' base_url. Loopback only, no key."""
    from .local_model import LocalModel, LocalModelError, locate
    from .local_server import LocalServer

    try:
        locate(model)  # a bad name is reported before torch loads anything
        server = LocalServer(LocalModel(model, device), model, port).start()
    except (LocalModelError, OSError) as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"serving {model} at {server.base_url} (model name {model!r}); Ctrl-C stops it", err=False)
    try:
        while server.thread.is_alive():
            server.thread.join(0.5)
    except KeyboardInterrupt:
        server.stop()
