"""``toolkit judge LOG --rubric R --model M --out FILE``: score responses with an LLM judge."""

from __future__ import annotations

__all__ = ["add_llm_arguments", "client_from_args", "register", "run"]


def add_llm_arguments(p) -> None:
    """The OpenAI-compatible client's options (shared with other commands that send prompts)."""
    p.add_argument("--model", default=None, help="model name (default $OPENAI_MODEL)")
    p.add_argument("--base-url", default=None,
                   help="OpenAI-compatible endpoint, e.g. http://127.0.0.1:8000/v1 for a local vLLM, "
                        "llama.cpp or Ollama server (default $OPENAI_BASE_URL, else api.openai.com)")
    p.add_argument("--api-key-env", default="OPENAI_API_KEY", metavar="VAR",
                   help="environment variable holding the API key (default OPENAI_API_KEY); the key "
                        "itself is never taken on the command line, printed or written")
    p.add_argument("--timeout", type=float, default=60.0, help="seconds per request (default 60)")
    p.add_argument("--max-retries", type=int, default=4,
                   help="retries on 429, 5xx, timeouts (default 4, with exponential backoff)")
    p.add_argument("--concurrency", type=int, default=4, help="requests in flight (default 4)")
    p.add_argument("--cache-dir", default=None,
                   help="disk cache of answers (default: the toolkit cache folder, llm/)")
    p.add_argument("--no-cache", action="store_true", help="do not read or write the cache")
    p.add_argument("--price", default=None, metavar="IN,OUT",
                   help="USD per million input,output tokens for --model (default: the built-in "
                        "table of OpenAI list prices; unknown models have no cost)")


def client_from_args(args):
    """An :class:`toolkit.llm.LLMClient` from :func:`add_llm_arguments`' options."""
    import os

    from toolkit.errors import UsageError
    from toolkit.llm import LLMClient

    prices = None
    if args.price:
        try:
            p_in, p_out = (float(x) for x in args.price.split(","))
        except ValueError:
            raise UsageError(f"--price: expected IN,OUT like 0.15,0.60, got {args.price!r}") from None
        if not (0 <= p_in <= 10_000 and 0 <= p_out <= 10_000):
            raise UsageError("--price: prices must be within [0, 10000] USD per million tokens")
        prices = {args.model or os.environ.get("OPENAI_MODEL", ""): (p_in, p_out)}
    cache = False if args.no_cache else (args.cache_dir or True)
    return LLMClient(args.model, base_url=args.base_url, api_key=os.environ.get(args.api_key_env),
                     timeout=args.timeout, max_retries=args.max_retries,
                     concurrency=args.concurrency, cache=cache, prices=prices)


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "judge",
        help="score every response with an LLM judge (1-5 and a reason per rubric)",
        description="Ask an LLM on any OpenAI-compatible endpoint to rate every bot response on\n"
        "one or more rubrics (G-Eval style prompts, JSON answers; a malformed answer is retried\n"
        "once, then recorded as missing with the reason). Writes the log with judge_<rubric> and\n"
        "judge_<rubric>_reason columns. Answers are cached on disk: a rerun costs nothing.\n"
        "Needs pip install 'chatbot-toolkit[judge]'.",
        epilog="examples:\n  toolkit judge data/sample --rubric helpfulness --model gpt-4o-mini --limit 200 --dry-run\n"
        "  OPENAI_API_KEY=... toolkit judge log.parquet --rubric helpfulness,tone --model gpt-4o-mini --out judged.parquet\n"
        "  toolkit judge log.parquet --base-url http://127.0.0.1:8000/v1 --model llama3 --out judged.parquet",
        formatter_class=__import__("argparse").RawDescriptionHelpFormatter,
    )
    p.add_argument("path", help="conversation log (file or folder)")
    p.add_argument("--rubric", default="helpfulness",
                   help="comma-separated rubrics: helpfulness, relevance, correctness, tone "
                        "(default helpfulness)")
    p.add_argument("--out", default=None, help="output file (.parquet/.csv/.jsonl) or folder; "
                                               "required unless --dry-run")
    p.add_argument("--limit", type=int, default=None, help="judge a seeded random sample of this many turns")
    p.add_argument("--seed", type=int, default=0, help="seed of that sample (default 0)")
    p.add_argument("--dry-run", action="store_true",
                   help="send nothing: print the first prompt and the estimated requests, tokens and cost")
    p.add_argument("--max-cost", type=float, default=5.0, metavar="USD",
                   help="refuse to start when the estimated cost of the requests not yet cached is "
                        "above USD (default 5); a remote model without a known price is refused "
                        "unless --price is given; -1 turns the check off")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--tz", default=None, help="time zone of naive timestamps in the log")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    add_llm_arguments(p)
    p.set_defaults(func=run)


def run(args) -> int:
    from toolkit.cli import print_json
    from toolkit.errors import UsageError
    from toolkit.io import load, save
    from toolkit.judges.pointwise import judge_turns

    rubrics = [r.strip() for r in args.rubric.split(",") if r.strip()]
    if not args.dry_run and not args.out:
        raise UsageError("--out is required (or --dry-run to see the prompts and the cost)")
    if args.limit is not None and args.limit < 1:
        raise UsageError(f"--limit must be >= 1, got {args.limit}")
    client = client_from_args(args)
    log = load(args.path, tz=args.tz)
    res = judge_turns(log, rubrics, client=client, limit=args.limit, seed=args.seed,
                      dry_run=args.dry_run, progress=not args.no_progress,
                      max_cost_usd=None if args.max_cost < 0 else args.max_cost)
    if args.dry_run:
        if args.json:
            print_json({"dry_run": True, **res.to_dict(), "settings": client.settings()})
            return 0
        print("dry run: nothing was sent")
        if res.examples:
            print("first prompt:\n" + res.examples[0])
        print(res.message())
        return 0
    out = save(log.with_turns(res), args.out)
    usage = res.attrs.get("judge_usage", {})
    summary = {"out": str(out), "model": client.model, "rubrics": rubrics, **usage,
               "means": {r: (None if res[f"judge_{r}"].isna().all() else float(res[f"judge_{r}"].mean()))
                         for r in rubrics}}
    if args.json:
        print_json(summary)
        return _failed_run(res, rubrics, usage)
    print(f"wrote {out}: {usage.get('judged', 0):,} turns judged on {', '.join(rubrics)} by {client.model}")
    for r in rubrics:
        miss = usage.get("missing", {}).get(r, 0)
        mean = summary["means"][r]
        print(f"  judge_{r}: mean {mean:.3f}" if mean is not None else f"  judge_{r}: no scores",
              f"({miss} missing)" if miss else "")
    cost = usage.get("cost_usd")
    print(f"requests {usage.get('requests', 0)} (retries {usage.get('retries', 0)}, cache hits "
          f"{usage.get('cache_hits', 0)}, failures {usage.get('failures', 0)}"
          + (f", not sent {usage['not_sent']}" if usage.get("not_sent") else "") + "); tokens "
          f"{usage.get('prompt_tokens', 0):,} in / {usage.get('completion_tokens', 0):,} out; cost "
          + ("unknown (no price for this model: --price IN,OUT)" if cost is None else f"${cost:.4f}"))
    return _failed_run(res, rubrics, usage)


def _failed_run(res, rubrics, usage) -> int:
    """1 (a run failed, said on stderr) when requests were given up or no request got an answer;
    else 0. The output is written either way: a rerun sends only what the cache lacks."""
    import sys

    reasons = [str(x) for r in rubrics for x in res[f"judge_{r}_reason"].dropna()]
    last = next((x for x in reversed(reasons) if x.startswith("missing: request failed") and "not sent:" not in x), None)
    if usage.get("not_sent"):
        print(f"error: stopped after {usage.get('failures', 0)} failed requests, {usage['not_sent']} not "
              f"sent; check --base-url and the server ({last})", file=sys.stderr)
        return 1
    if usage.get("failures") and usage.get("failures", 0) >= usage.get("requests", 0) - usage.get("retries", 0):
        print(f"error: every request failed; check --base-url and the server ({last})", file=sys.stderr)
        return 1
    return 0
