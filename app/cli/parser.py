"""The ``deskmate`` argument parser: every command, its arguments, and the checks on their values."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from tools.errors import DeskmateError


def _count(low: int, high: int) -> Callable[[str], int]:
    """An argparse type: a whole number from ``low`` to ``high`` (a huge one would overflow deep in a library)."""

    def count(value: str) -> int:
        try:
            number = int(value)
        except ValueError:  # also a number of more than 4300 digits
            number = None
        if number is None or not low <= number <= high:
            raise argparse.ArgumentTypeError(f"expected a whole number from {low} to {high}, not {value[:40]!r}")
        return number

    return count


def _fraction(value: str) -> float:
    try:
        number = float(value)
    except ValueError:
        number = -1.0
    if not 0.0 <= number <= 1.0:  # also nan and inf
        raise argparse.ArgumentTypeError(f"expected a number from 0 to 1, not {value[:40]!r}")
    return number


def _path(value: str) -> Path:
    """An argparse type: a path the operating system can take (no NUL byte, no ``~user`` that does not exist)."""
    if "\x00" in value:  # every system call would fail with "embedded null byte"
        raise argparse.ArgumentTypeError(f"not a path: {value[:60]!r} contains a NUL byte")
    try:
        Path(value).expanduser()
    except RuntimeError:  # "~nosuchuser/x": Python cannot find that user's home
        raise argparse.ArgumentTypeError(f"not a path: {value[:60]!r} names a user with no home folder") from None
    return Path(value)


def _folder(value: str) -> str:
    if not value.strip():  # "" would silently mean the default folders
        raise argparse.ArgumentTypeError("cannot be empty: give a folder, or leave --home out for the default")
    return str(_path(value))


def _date(value: str) -> datetime:
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date: {value!r} (use YYYY-MM-DD or an ISO timestamp)") from None


_SCOPE_HELP = ("only these files: comma-separated folder:PATH, file:PATH, type:pdf, after:YYYY-MM-DD, "
               "before:YYYY-MM-DD")


def _scope(value: str) -> str:
    """An argparse type: a scope spec that ``parse_scope`` accepts (parsed again where it is used)."""
    from tools.index.scope import parse_scope  # only when --scope is given: the parser stays light

    spec = value.strip()
    try:
        parse_scope(spec)
    except DeskmateError as exc:
        why = "".join(c if c.isprintable() else ascii(c)[1:-1] for c in str(exc))
        raise argparse.ArgumentTypeError(f"{why} (e.g. folder:~/Projects,type:pdf,after:2024-01-01)") from None
    return spec


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="deskmate",
        description="Deskmate: a local-first copilot for your desktop. Without a command, opens the desktop app "
                    "(or, with no display, shows where things stand).",
    )
    parser.add_argument("--home", type=_folder,
                        help="keep every file Deskmate writes under this folder (or set DESKMATE_HOME)")
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug details to stderr")
    parser.add_argument("--version", action="version", version="deskmate 0.1.0")
    parser.add_argument("--quick-ask", nargs="?", const="", default=None, metavar="TEXT",
                        help="open quick ask (in the running Deskmate if there is one), optionally prefilled")
    parser.add_argument("--minimized", action="store_true", help="start in the tray, without the main window")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    sub.add_parser("overview", help="where things stand: data folders, index, models (the same without a display)")

    index = sub.add_parser("index", help="manage the knowledge index of your files")
    isub = index.add_subparsers(dest="index_command", metavar="ACTION", required=True)
    add = isub.add_parser("add", help="add folders or files to the index")
    add.add_argument("paths", nargs="+", type=_path, metavar="PATH")
    add.add_argument("--include", action="append", default=[], metavar="GLOB", help="only files matching (repeat)")
    add.add_argument("--exclude", action="append", default=[], metavar="GLOB", help="skip names matching (repeat)")
    add.add_argument("--sync", action="store_true", help="index the new roots right away")
    remove = isub.add_parser("remove", help="remove a root and everything indexed from it")
    remove.add_argument("path", type=_path)
    lst = isub.add_parser("list", help="list the roots")
    lst.add_argument("--json", action="store_true")
    sync = isub.add_parser("sync", help="bring the index in line with the files on disk")
    sync.add_argument("--json", action="store_true")
    sync.add_argument("--retry-failed", action="store_true", help="parse files that failed before again")
    status = isub.add_parser("status", help="roots, files, chunks, failures, embedder, last sync")
    status.add_argument("--json", action="store_true")
    status.add_argument("--files", action="store_true", help="one row per file")
    isub.add_parser("watch", help="keep the index fresh while files change (until Ctrl+C)")

    srch = sub.add_parser("search", help="search your indexed files")
    srch.add_argument("query")
    srch.add_argument("--k", type=_count(1, 1000), default=10, help="number of results (default 10)")
    srch.add_argument("--mode", choices=["hybrid", "vector", "fts"], default="hybrid")
    srch.add_argument("--json", action="store_true")
    srch.add_argument("--root", action="append", default=[], type=_path, help="only under this root (repeat)")
    srch.add_argument("--glob", help="only paths matching, e.g. '*.pdf' or '*/notes/*'")
    srch.add_argument("--type", action="append", default=[], dest="types", help="file type, e.g. pdf (repeat)")
    srch.add_argument("--after", type=_date, help="modified on or after this date")
    srch.add_argument("--before", type=_date, help="modified before this date")

    ev = sub.add_parser("eval", help="measure Deskmate")
    esub = ev.add_subparsers(dest="eval_command", metavar="WHAT", required=True)
    retr = esub.add_parser("retrieval", help="retrieval quality on a BEIR-layout collection")
    retr.add_argument("--dataset", type=_path, required=True, help="folder with corpus.jsonl, queries.jsonl, qrels/")
    retr.add_argument("--modes", default="fts,vector,hybrid", help="comma-separated (default fts,vector,hybrid)")
    retr.add_argument("--json", action="store_true")
    retr.add_argument("--run-file", type=_path, help="write a TREC run file per mode to OUT.MODE")
    retr.add_argument("--gate", action="store_true",
                      help="exit 1 when a mode's nDCG@10 drops more than the tolerance below its baseline")
    retr.add_argument("--baseline", type=_path, help="the baseline file (default: resources/eval/baselines.json)")
    retr.add_argument("--tolerance", type=_fraction, default=0.02, help="allowed nDCG@10 drop (default 0.02)")
    retr.add_argument("--update-baseline", action="store_true", help="store this run's figures as the baseline")
    pers = esub.add_parser("personal", help="retrieval on the questions you rated (thumbs, right/wrong sources)")
    pers.add_argument("--json", action="store_true")
    pers.add_argument("--k", type=_count(1, 1000), default=10, help="rank cut-off for MRR (default 10)")
    answ = esub.add_parser("answers", help="answers of the real agent on an answer set (docs/ + questions.jsonl)")
    answ.add_argument("--dataset", type=_path, required=True, help="folder with docs/ and questions.jsonl")
    answ.add_argument("--json", action="store_true")
    which = answ.add_mutually_exclusive_group()
    which.add_argument("--model", help="a name from `deskmate models list` (default: models.default)")
    which.add_argument("--no-model", action="store_true", help="deterministic answers only, no model")

    models = sub.add_parser("models", help="local and remote language models")
    msub = models.add_subparsers(dest="models_command", metavar="ACTION", required=True)
    inst = msub.add_parser("install-default", help="build the embedded default model (offline, idempotent)")
    inst.add_argument("--precision", choices=["int8", "int4"], default="int8", help="int8 (default) or int4")
    inst.add_argument("--force", action="store_true", help="rebuild even if a verified copy is there")
    inst.add_argument("--json", action="store_true")
    mlist = msub.add_parser("list", help="every configured model with its status and the device it runs on")
    mlist.add_argument("--json", action="store_true")
    mlist.add_argument("--no-load", action="store_true", help="do not load local models to check them")
    madd = msub.add_parser("add", help="add a local ONNX Runtime GenAI model folder")
    madd.add_argument("name", help="a name such as local/phi-3-mini (local/ is added when missing)")
    madd.add_argument("path", type=_path, help="the folder holding genai_config.json")
    _routing_arguments(madd, context_default=None)
    mrem = msub.add_parser("remove", help="remove a model you added")
    mrem.add_argument("name")
    mcat = msub.add_parser("catalog", help="curated models to download, marked by what this machine can run")
    mcat.add_argument("--all", action="store_true", help="also the models this machine cannot run")
    mcat.add_argument("--json", action="store_true")
    mdl = msub.add_parser("download", help="download a catalog model (checked file by file, then loaded once)")
    mdl.add_argument("name", help="a name from `deskmate models catalog`")
    mdl.add_argument("--device", choices=["cpu", "cuda", "dml"], default=None,
                     help="which build to fetch (default: cuda when a usable NVIDIA GPU is found, else cpu)")
    mdl.add_argument("--json", action="store_true")
    mdel = msub.add_parser("delete", help="delete a downloaded or imported model and free its disk space")
    mdel.add_argument("name")
    mfound = msub.add_parser("found", help="models already on this machine (Ollama, LM Studio, GPT4All, Jan, HF cache)")
    mfound.add_argument("--json", action="store_true")
    mimp = msub.add_parser("import", help="use a model file or folder you have: ONNX GenAI folders as they are, "
                                          "GGUF converted")
    mimp.add_argument("path", type=_path, help="a GGUF file, an Ollama model name (ollama:NAME[:TAG]), or a folder")
    mimp.add_argument("--name", help="the name to register it under (default: from the file)")
    mimp.add_argument("--precision", choices=["int4", "int8"], default="int8",
                      help="for a GGUF: int8 (default: answers like the GGUF) or int4 (smaller, faster, worse text "
                           "when the GGUF was already 4-bit)")
    mimp.add_argument("--yes", action="store_true", help="do not ask before a conversion")
    mimp.add_argument("--json", action="store_true")

    providers = sub.add_parser("providers", help="remote OpenAI-compatible servers (Ollama, LM Studio, vLLM, ...)")
    psub = providers.add_subparsers(dest="providers_command", metavar="ACTION", required=True)
    padd = psub.add_parser("add", help="add a model served over the OpenAI chat-completions protocol")
    padd.add_argument("name", help="the provider's name, e.g. ollama; its key (if any) is stored under this name")
    padd.add_argument("--base-url", required=True, help="e.g. http://localhost:11434/v1")
    padd.add_argument("--model", required=True, help="the model id the server knows, e.g. llama3.2:3b")
    _routing_arguments(padd, context_default=8192)
    pdet = psub.add_parser("detect", help="servers running on this machine (Ollama, LM Studio, llama.cpp, vLLM, Jan)")
    pdet.add_argument("--json", action="store_true")
    pdet.add_argument("--add", action="store_true", help="add every model found as a provider")

    doctor = sub.add_parser("doctor", help="one line per component: the device it runs on, and why not the GPU")
    doctor.add_argument("--json", action="store_true")

    keys = sub.add_parser("keys", help="API keys, kept only in the OS keychain")
    ksub = keys.add_subparsers(dest="keys_command", metavar="ACTION", required=True)
    kset = ksub.add_parser("set", help="store a key (read from a hidden prompt, or from stdin)")
    kset.add_argument("name")
    kdel = ksub.add_parser("delete", help="delete a key")
    kdel.add_argument("name")

    gen = sub.add_parser("generate", help="one completion from a model (no tools, no retrieval)")
    gen.add_argument("prompt")
    gen.add_argument("--model", help="a name from `deskmate models list` (default: models.default)")
    gen.add_argument("--max-tokens", type=_count(1, 1_000_000), default=None, help="at most this many new tokens")
    gen.add_argument("--json", action="store_true", help="text plus token counts, timings and device as JSON")
    gen.add_argument("--quiet", action="store_true", help="print the answer at the end instead of streaming it")

    ask = sub.add_parser("ask", help="ask about your files: a cited answer, from the model or without it")
    ask.add_argument("question")
    ask.add_argument("--thread", help="continue this conversation thread (default: a new one)")
    ask.add_argument("--model", help="a name from `deskmate models list` (default: models.default)")
    ask.add_argument("--json", action="store_true", help="answer, mode, route, model, citations, thread, trace")
    ask.add_argument("--scope", type=_scope, metavar="SPEC", help=_SCOPE_HELP)

    act = sub.add_parser("act", help="an action on a text: summarise, explain, rewrite, fix, translate, reply, yours")
    act.add_argument("action", nargs="?", metavar="ACTION", help="an action's word or id (see --list)")
    act.add_argument("--list", action="store_true", help="the actions: word, title, argument, shipped or yours")
    act.add_argument("--text", help="the text to work on (default: read from stdin)")
    act.add_argument("--arg", help="the action's argument: a language for translate, a style for rewrite")
    act.add_argument("--json", action="store_true", help="answer, mode, route, action, model, thread, trace")
    which = act.add_mutually_exclusive_group()
    which.add_argument("--model", help="a name from `deskmate models list` (default: models.default)")
    which.add_argument("--no-model", action="store_true", help="no model: what works without one, or a message")

    chat = sub.add_parser("chat", help="a conversation on the terminal (streaming, approvals, /help, /new, /quit)")
    chat.add_argument("--thread", help="continue this thread")
    chat.add_argument("--model", help="a name from `deskmate models list` (default: models.default)")
    chat.add_argument("--scope", type=_scope, metavar="SPEC", help=_SCOPE_HELP)

    threads = sub.add_parser("threads", help="conversation threads: list, show, search, rename, export, delete")
    tsub = threads.add_subparsers(dest="threads_command", metavar="ACTION", required=True)
    tlist = tsub.add_parser("list", help="every thread, newest first")
    tlist.add_argument("--json", action="store_true")
    tsearch = tsub.add_parser("search", help="threads whose title, questions or answers contain TEXT")
    tsearch.add_argument("text")
    tsearch.add_argument("--json", action="store_true")
    tshow = tsub.add_parser("show", help="the turns of a thread")
    tshow.add_argument("id")
    texp = tsub.add_parser("export", help="a thread as Markdown (default) or JSON, on stdout")
    texp.add_argument("id")
    texp.add_argument("--format", choices=["md", "json"], default="md")
    tren = tsub.add_parser("rename", help="give a thread a title")
    tren.add_argument("id")
    tren.add_argument("title")
    tdel = tsub.add_parser("delete", help="delete a thread")
    tdel.add_argument("id")

    memory = sub.add_parser("memory", help="what Deskmate remembers about you (stored locally)")
    mem = memory.add_subparsers(dest="memory_command", metavar="ACTION", required=True)
    mlst = mem.add_parser("list", help="every memory with its id")
    mlst.add_argument("--json", action="store_true")
    madd2 = mem.add_parser("add", help="remember a fact")
    madd2.add_argument("text")
    mfor = mem.add_parser("forget", help="forget a memory by id")
    mfor.add_argument("id")

    traces = sub.add_parser("traces", help="what happened in each turn: stored traces (span trees), usage stats")
    trsub = traces.add_subparsers(dest="traces_command", metavar="ACTION", required=True)
    trlist = trsub.add_parser("list", help="recent turns: id, time, mode, model, latency, tokens, question")
    trlist.add_argument("--json", action="store_true")
    trlist.add_argument("--limit", type=_count(1, 1_000_000), default=20, help="at most this many turns (default 20)")
    trshow = trsub.add_parser("show", help="one turn's span tree with durations and key attributes")
    trshow.add_argument("id")
    trshow.add_argument("--json", action="store_true", help="the full record")
    trstats = trsub.add_parser("stats", help="per day and per model: turns, latency, tokens, cache, fallbacks")
    trstats.add_argument("--days", type=_count(1, 36_500), default=30, help="the last N days (default 30)")
    trstats.add_argument("--json", action="store_true")

    audit = sub.add_parser("audit", help="every side effect the assistant ran, was denied or was refused, oldest first")
    audit.add_argument("--json", action="store_true")
    audit.add_argument("--limit", type=_count(0, 1_000_000), default=50,
                       help="the last N entries (default 50; 0 for all)")
    return parser


def _routing_arguments(parser: argparse.ArgumentParser, context_default: int | None) -> None:
    parser.add_argument("--size", choices=["small", "medium", "large"], default="small", help="for routing")
    parser.add_argument("--speed", choices=["fast", "medium", "slow"], default="fast", help="for routing")
    parser.add_argument("--context", type=_count(256, 10_000_000), default=context_default,
                        help="context length in tokens")
