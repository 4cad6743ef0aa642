"""What a prompt experiment runs: variants, the endpoint, and the YAML spec that names them.

A :class:`Variant` is a prompt template plus model parameters (system message, model,
temperature, max tokens, other request parameters). An :class:`Endpoint` is an OpenAI-compatible
chat endpoint (base URL, default model, the *name* of the environment variable holding the key,
prices). :func:`load_spec` reads a YAML file with the test set, the variants, the repetitions and
the endpoint (or a Python target ``module:function``) and checks every field; a bad field is one
:class:`ExperimentSpecError` naming it.

The API key is never part of a spec: the spec names an environment variable
(``endpoint.api_key_env``) and the key is read from it when the run starts. A spec with an
``api_key`` field is refused.

Examples
--------
>>> v = Variant("short", "Answer in one sentence: {input}", temperature=0.2)
>>> v.messages({"input": "Where is my order?"})
[{'role': 'user', 'content': 'Answer in one sentence: Where is my order?'}]
>>> Variant("bad", "{question}").check_fields({"input", "example_id"})
Traceback (most recent call last):
...
toolkit.experiments.spec.ExperimentSpecError: variant 'bad': prompt_template uses {question}, which is not a column of the test set (it has example_id, input)
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from toolkit._secrets import redact
from toolkit.errors import ToolkitError

__all__ = [
    "Endpoint",
    "ExperimentSpec",
    "ExperimentSpecError",
    "Variant",
    "load_spec",
    "render_template",
    "template_fields",
    "LIMITS",
]

#: user-controlled sizes and their limits (a larger value is refused with a message naming it)
LIMITS: dict[str, int] = {
    "variants": 50,            # variants in one experiment
    "repetitions": 100,        # repetitions of each (variant, example)
    "calls": 200_000,          # variants x examples x repetitions (run_experiment's max_calls cap)
    "examples": 100_000,       # rows of a test set
    "input_chars": 100_000,    # one example's input text
    "template_chars": 50_000,  # a prompt template or system message
    "prompt_chars": 200_000,   # a rendered prompt (system + user message)
    "response_chars": 1_000_000,  # one answer from a Python target (longer: recorded as an error)
    "params": 32,              # extra request parameters of a variant
    "spec_bytes": 1_000_000,   # the YAML spec file
    "spec_values": 100_000,    # values in the parsed spec (aliases counted each time they are used)
}

_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}$")
_TOKEN_RE = re.compile(r"\{\{|\}\}|\{([^{}]*)\}|\{|\}")
_FIELD_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
# request fields a variant's params may not override (they are set from the variant's own fields,
# and ``timeout`` from the run's timeout_s: the client's option would replace it, None with no limit)
_RESERVED_PARAMS = {"model", "messages", "temperature", "max_tokens", "stream", "n", "timeout"}


class ExperimentSpecError(ToolkitError):
    """A bad experiment spec, variant or endpoint: the message names the field and the rule."""


def template_fields(template: str, *, where: str = "prompt_template") -> list[str]:
    """The placeholder names of ``template`` (``{name}``; ``{{``/``}}`` are literal braces).

    Only plain names are allowed (no ``{a.b}``, ``{a[0]}`` or format specs), so a template can
    neither reach attributes nor be re-expanded by the data it is filled with.

    Examples
    --------
    >>> template_fields("Q: {input}\\nContext: {context} {{literal}}")
    ['input', 'context']
    >>> template_fields("{input.__class__}")
    Traceback (most recent call last):
    ...
    toolkit.experiments.spec.ExperimentSpecError: prompt_template: '{input.__class__}' at position 0 is not a plain column name like {input} (write {{ and }} for literal braces)
    """
    names: list[str] = []
    for m in _TOKEN_RE.finditer(template):
        tok = m.group(0)
        if tok in ("{{", "}}"):
            continue
        name = m.group(1)
        if name is None:
            raise ExperimentSpecError(f"{where}: a lone {tok!r} at position {m.start()} (write {{{{ and }}}} "
                                      "for literal braces)")
        if not _FIELD_RE.match(name):
            raise ExperimentSpecError(f"{where}: {tok[:40]!r} at position {m.start()} is not a plain column "
                                      "name like {input} (write {{ and }} for literal braces)")
        if name not in names:
            names.append(name)
    return names


def render_template(template: str, fields: Mapping[str, Any]) -> str:
    """``template`` with each ``{name}`` replaced by ``fields[name]`` (one pass: values are not expanded).

    Missing values (None, NaN) become the empty string.

    Examples
    --------
    >>> render_template("Q: {input} {{x}}", {"input": "a {b} c"})
    'Q: a {b} c {x}'
    """
    def sub(m: re.Match) -> str:
        tok = m.group(0)
        if tok == "{{":
            return "{"
        if tok == "}}":
            return "}"
        value = fields.get(m.group(1))
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return ""
        return str(value)

    return _TOKEN_RE.sub(sub, template)


def _number(value: Any, name: str, lo: float, hi: float, *, integer: bool = False, where: str = "") -> Any:
    kind = "an integer" if integer else "a number"
    ok = not isinstance(value, bool)
    if ok:
        try:
            num = int(value) if integer else float(value)
            ok = (not integer or float(value) == num) and lo <= num <= hi
        except (TypeError, ValueError, OverflowError):
            ok = False
    if not ok:
        span = f"[{lo}, {hi}]" if integer else f"[{lo:g}, {hi:g}]"
        raise ExperimentSpecError(f"{where}{name} must be {kind} in {span}, got {value!r}")
    return num


@dataclass(frozen=True)
class Variant:
    """One arm of a prompt experiment: a prompt template and the model parameters sent with it.

    Parameters
    ----------
    name : str
        1-64 letters, digits, ``_``, ``.`` or ``-`` (it becomes part of conversation ids).
    prompt_template : str
        The user message; ``{column}`` is replaced by that column of the example (``{input}`` by
        default), ``{{`` and ``}}`` are literal braces.
    system : str, optional
        A system message, sent as is (no placeholders).
    model, temperature, max_tokens : optional
        Sent with the request; ``None``: the endpoint's model, and temperature / max tokens are
        not sent (the server's defaults apply).
    params : dict
        Other request parameters (``top_p``, ``seed``, ``stop``, ...), JSON values. No ``seed``
        is sent unless given here: repetitions are meant to show the run-to-run variation.

    Examples
    --------
    >>> Variant("a", system="Be brief.").messages({"input": "hi"})
    [{'role': 'system', 'content': 'Be brief.'}, {'role': 'user', 'content': 'hi'}]
    >>> Variant("a b")
    Traceback (most recent call last):
    ...
    toolkit.experiments.spec.ExperimentSpecError: variant name 'a b' must be 1-64 letters, digits, '_', '.' or '-' (starting with a letter or digit)
    """

    name: str
    prompt_template: str = "{input}"
    system: str | None = None
    model: str | None = None
    temperature: float | None = None
    max_tokens: int | None = None
    params: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not _NAME_RE.match(self.name):
            raise ExperimentSpecError(f"variant name {self.name!r} must be 1-64 letters, digits, '_', '.' or '-' "
                                      "(starting with a letter or digit)")
        where = f"variant {self.name!r}: "
        for attr in ("prompt_template", "system"):
            value = getattr(self, attr)
            if value is None and attr == "system":
                continue
            if not isinstance(value, str):
                raise ExperimentSpecError(f"{where}{attr} must be text, got {type(value).__name__}")
            if len(value) > LIMITS["template_chars"]:
                raise ExperimentSpecError(f"{where}{attr} has {len(value):,} characters; the limit is "
                                          f"{LIMITS['template_chars']:,}")
        template_fields(self.prompt_template, where=f"{where}prompt_template")
        if self.model is not None and (not isinstance(self.model, str) or not self.model.strip()
                                       or len(self.model) > 200):
            raise ExperimentSpecError(f"{where}model must be a non-empty name (<= 200 characters), got {self.model!r}")
        if self.temperature is not None:
            object.__setattr__(self, "temperature", _number(self.temperature, "temperature", 0, 2, where=where))
        if self.max_tokens is not None:
            object.__setattr__(self, "max_tokens",
                               _number(self.max_tokens, "max_tokens", 1, 100_000, integer=True, where=where))
        if not isinstance(self.params, Mapping):
            raise ExperimentSpecError(f"{where}params must be a mapping of request parameters, got "
                                      f"{type(self.params).__name__}")
        if len(self.params) > LIMITS["params"]:
            raise ExperimentSpecError(f"{where}params has {len(self.params)} entries; the limit is {LIMITS['params']}")
        import json

        for key in self.params:
            if not isinstance(key, str) or key in _RESERVED_PARAMS:
                raise ExperimentSpecError(f"{where}params.{key} is not allowed (set model, temperature and "
                                          "max_tokens as variant fields; messages come from the template; "
                                          "the run's timeout_s sets the timeout)")
            secret = _secret_path(self.params[key], key)
            if secret is not None:
                raise ExperimentSpecError(f"{where}params.{secret}: keys and tokens never go in a spec; name an "
                                          "environment variable in endpoint.api_key_env")
        try:
            blob = json.dumps(dict(self.params), sort_keys=True, allow_nan=False)
        except (TypeError, ValueError) as exc:
            raise ExperimentSpecError(f"{where}params must hold JSON values (text, numbers, lists, "
                                      f"mappings): {exc}") from None
        if len(blob) > LIMITS["template_chars"]:
            raise ExperimentSpecError(f"{where}params is {len(blob):,} characters of JSON; the limit is "
                                      f"{LIMITS['template_chars']:,}")
        object.__setattr__(self, "params", json.loads(blob))

    @property
    def fields(self) -> list[str]:
        """The test-set columns the template uses."""
        return template_fields(self.prompt_template)

    def check_fields(self, columns) -> None:
        """Raise naming the placeholder when the template uses a column the test set lacks."""
        have = set(columns)
        for name in self.fields:
            if name not in have:
                raise ExperimentSpecError(f"variant {self.name!r}: prompt_template uses {{{name}}}, which is not a "
                                          f"column of the test set (it has {', '.join(sorted(have))})")

    def messages(self, example: Mapping[str, Any]) -> list[dict[str, str]]:
        """The chat messages for ``example`` (a system message when set, then the user message)."""
        out = [] if self.system is None else [{"role": "system", "content": self.system}]
        out.append({"role": "user", "content": render_template(self.prompt_template, example)})
        return out

    def to_dict(self) -> dict[str, Any]:
        """The definition as plain values (it is part of the cache key)."""
        return asdict(self)

    def summary_table(self):
        """One row: the variant's name and what it sends (``params`` as JSON text).

        Examples
        --------
        >>> Variant("short", system="Be brief.", temperature=0.2).summary_table().iloc[0].to_dict()
        {'variant': 'short', 'model': None, 'temperature': 0.2, 'max_tokens': None, 'system': 'Be brief.', \
'prompt_template': '{input}', 'params': '{}'}
        """
        import json

        import pandas as pd

        return pd.DataFrame([{"variant": self.name, "model": self.model, "temperature": self.temperature,
                              "max_tokens": self.max_tokens, "system": self.system,
                              "prompt_template": self.prompt_template,
                              "params": json.dumps(self.params, sort_keys=True, ensure_ascii=False)}],
                            dtype=object)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any], *, where: str = "variant") -> Variant:
        """A variant from a mapping (a spec entry); unknown fields are an error naming them."""
        if not isinstance(d, Mapping):
            raise ExperimentSpecError(f"{where} must be a mapping with name, prompt_template, ..., got "
                                      f"{type(d).__name__}")
        _known_fields(d, {f.name for f in fields(cls)}, where, "a variant")
        if "name" not in d:
            raise ExperimentSpecError(f"{where}.name is missing")
        try:
            return cls(**{k: v for k, v in d.items() if not (k == "params" and v is None)})
        except ExperimentSpecError as exc:
            raise ExperimentSpecError(f"{where}: {exc}") from None


def _known_fields(d: Mapping[str, Any], allowed: set, where: str, what: str) -> None:
    unknown = [k for k in d if k not in allowed]
    if unknown:
        raise ExperimentSpecError(f"{where}.{unknown[0]} is not {what} field (allowed: {', '.join(sorted(allowed))})")


def _secret_path(value: Any, key: str) -> str | None:
    """``params.<key>`` (or ``<key>.<header>`` of the client's ``extra_headers`` / ``extra_query``
    request options, which carry credentials) when a name looks like a key, else None; other
    nested values (a JSON schema, tools) may name their fields freely."""
    if _looks_like_secret(key):
        return key
    if key in ("extra_headers", "extra_query") and isinstance(value, Mapping):
        for k in value:
            if _looks_like_secret(str(k)) or str(k).lower() in ("cookie", "proxy-authorization",
                                                               "x-auth-token"):
                return f"{key}.{k}"
    return None


def _looks_like_secret(key: str) -> bool:
    k = str(key).lower().replace("-", "_")
    return k in {"api_key", "apikey", "key", "token", "secret", "password", "authorization",
                 "access_token", "bearer"} or k.endswith(("_api_key", "_token", "_secret", "_password"))


@dataclass(frozen=True)
class Endpoint:
    """An OpenAI-compatible chat endpoint for an experiment (settings only; never the key itself).

    Parameters
    ----------
    base_url : str, optional
        E.g. ``http://127.0.0.1:8000/v1``; ``OPENAI_BASE_URL`` or api.openai.com when None.
    model : str, optional
        The model of variants that do not name one; ``OPENAI_MODEL`` when None.
    api_key_env : str
        Name of the environment variable holding the key (default ``OPENAI_API_KEY``); a loopback
        endpoint needs none.
    prices : mapping, optional
        ``{model: [input, output]}`` USD per million tokens, added to the toolkit's price table.

    Examples
    --------
    >>> e = Endpoint.from_dict({"base_url": "http://127.0.0.1:8000/v1", "model": "llama3"})
    >>> e.to_dict()["api_key_env"], e.is_local
    ('OPENAI_API_KEY', True)
    >>> Endpoint.from_dict({"api_key": "sk-..."})
    Traceback (most recent call last):
    ...
    toolkit.experiments.spec.ExperimentSpecError: endpoint.api_key: the key never goes in a spec or an argument; put it in an environment variable and name that variable in endpoint.api_key_env
    """

    base_url: str | None = None
    model: str | None = None
    api_key_env: str = "OPENAI_API_KEY"
    prices: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.base_url is not None:
            from urllib.parse import urlsplit

            parts = urlsplit(str(self.base_url))
            if parts.scheme not in ("http", "https") or not parts.hostname:
                raise ExperimentSpecError(f"endpoint.base_url must be an http(s) URL like "
                                          f"http://127.0.0.1:8000/v1, got {redact(str(self.base_url))!r}")
            if parts.username or parts.password:
                raise ExperimentSpecError("endpoint.base_url must not hold a user name or password; put the key "
                                          "in an environment variable named in endpoint.api_key_env")
        if self.model is not None and (not isinstance(self.model, str) or not self.model.strip()):
            raise ExperimentSpecError(f"endpoint.model must be a model name, got {self.model!r}")
        if not isinstance(self.api_key_env, str) or not re.match(r"^[A-Z_][A-Z0-9_]{0,63}$", self.api_key_env):
            # the value is not repeated: it may be the key itself, written in the wrong field
            raise ExperimentSpecError("endpoint.api_key_env must be the NAME of an environment variable in "
                                      "capitals, like OPENAI_API_KEY, not the key itself")
        prices = {}
        if not isinstance(self.prices, Mapping):
            raise ExperimentSpecError("endpoint.prices must map a model to [input, output] USD per million tokens")
        for model, pair in self.prices.items():
            try:
                p_in, p_out = (float(x) for x in pair)
                ok = 0 <= p_in <= 10_000 and 0 <= p_out <= 10_000
            except (TypeError, ValueError):
                ok = False
            if not ok:
                raise ExperimentSpecError(f"endpoint.prices.{model} must be [input, output] USD per million "
                                          f"tokens within [0, 10000], got {pair!r}")
            prices[str(model)] = (p_in, p_out)
        object.__setattr__(self, "prices", prices)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any] | Endpoint, *, where: str = "endpoint") -> Endpoint:
        """An endpoint from a mapping; ``api_key``-like fields are refused, unknown fields named."""
        if isinstance(d, Endpoint):
            return d
        if not isinstance(d, Mapping):
            raise ExperimentSpecError(f"{where} must be a mapping with base_url, model, api_key_env, prices")
        for k in d:
            if _looks_like_secret(k):
                raise ExperimentSpecError(f"{where}.{k}: the key never goes in a spec or an argument; put it in an "
                                          f"environment variable and name that variable in {where}.api_key_env")
        _known_fields(d, {"base_url", "model", "api_key_env", "prices"}, where, "an endpoint")
        return cls(**{k: v for k, v in d.items() if v is not None})

    @property
    def url(self) -> str:
        """The base URL in use (argument, else ``OPENAI_BASE_URL``, else api.openai.com)."""
        from toolkit.llm import DEFAULT_BASE_URL

        return (self.base_url or os.environ.get("OPENAI_BASE_URL") or DEFAULT_BASE_URL).rstrip("/")

    @property
    def is_local(self) -> bool:
        """Whether the endpoint is on this machine (a loopback address)."""
        from toolkit.llm import _is_local

        return _is_local(self.url)

    def api_key(self) -> str | None:
        """The key from the environment variable named in ``api_key_env`` (None when unset)."""
        return os.environ.get(self.api_key_env) or None

    def to_dict(self) -> dict[str, Any]:
        """Settings without the key (for outputs and reports)."""
        return {"base_url": redact(self.url), "model": self.model, "api_key_env": self.api_key_env,
                "key_set": self.api_key() is not None,
                "prices": {m: list(p) for m, p in self.prices.items()}}

    def summary_table(self):
        """One row of :meth:`to_dict` (never the key: only whether it is set); prices as text.

        Examples
        --------
        >>> e = Endpoint("http://127.0.0.1:8000/v1", "llama3", api_key_env="NO_SUCH_KEY_SET",
        ...              prices={"llama3": [0.1, 0.2]})
        >>> e.summary_table().iloc[0].to_dict()
        {'base_url': 'http://127.0.0.1:8000/v1', 'model': 'llama3', 'api_key_env': 'NO_SUCH_KEY_SET', \
'key_set': False, 'prices': 'llama3: 0.1 / 0.2 USD per 1M tokens'}
        """
        import pandas as pd

        d = self.to_dict()
        d["prices"] = "; ".join(f"{m}: {p[0]:g} / {p[1]:g} USD per 1M tokens" for m, p in d["prices"].items())
        return pd.DataFrame([d], dtype=object)


@dataclass(frozen=True)
class ExperimentSpec:
    """A whole experiment as read by :func:`load_spec`: everything :func:`run_experiment` needs.

    ``test_set``, ``cache_dir`` and ``out`` are paths resolved against the spec file's folder.
    Exactly one of ``endpoint`` and ``target`` (a ``module:function`` reference) is set.
    """

    test_set: str
    variants: tuple[Variant, ...]
    repetitions: int = 3
    endpoint: Endpoint | None = None
    target: str | None = None
    n: int | None = None
    name: str = "experiment"
    concurrency: int = 4
    timeout_s: float = 30.0
    retries: int = 3
    seed: int = 0
    cache_dir: str | None = None
    out: str | None = None
    max_calls: int = 20_000
    base_dir: str | None = None  # the spec file's folder (a target module may live there)

    def run_kwargs(self) -> dict[str, Any]:
        """Keyword arguments of :func:`toolkit.experiments.run_experiment` (without the test set and variants)."""
        return {"repetitions": self.repetitions, "endpoint": self.endpoint, "cache_dir": self.cache_dir,
                "concurrency": self.concurrency, "timeout_s": self.timeout_s, "retries": self.retries,
                "seed": self.seed, "max_calls": self.max_calls, "name": self.name}

    def load_target(self):
        """The Python callable named by ``target`` (``package.module:function``), imported now."""
        if self.target is None:
            return None
        import importlib

        import sys

        module, _, attr = self.target.partition(":")
        added = self.base_dir is not None and self.base_dir not in sys.path
        if added:
            sys.path.insert(0, self.base_dir)  # a bot module beside the spec file
        try:
            obj = importlib.import_module(module)
            for part in attr.split("."):
                obj = getattr(obj, part)
        except (ImportError, AttributeError) as exc:
            raise ExperimentSpecError(f"target {self.target!r} cannot be imported: {type(exc).__name__}: "
                                      f"{exc}") from None
        finally:
            if added:
                sys.path.remove(self.base_dir)
        if not callable(obj):
            raise ExperimentSpecError(f"target {self.target!r} is not callable")
        return obj

    def summary_table(self):
        """One row per variant: what it sends, the model it will use, the target and the repetitions.

        Examples
        --------
        >>> spec = load_spec({"test_set": "t.csv", "endpoint": {"base_url": "http://127.0.0.1:8000/v1",
        ...                   "model": "llama3"}, "variants": [{"name": "a"}, {"name": "b", "model": "qwen"}]})
        >>> spec.summary_table()[["variant", "model", "target", "repetitions"]].values.tolist()
        [['a', 'llama3', 'http://127.0.0.1:8000/v1', 3], ['b', 'qwen', 'http://127.0.0.1:8000/v1', 3]]
        """
        import pandas as pd

        table = pd.concat([v.summary_table() for v in self.variants], ignore_index=True)
        if self.endpoint is not None:
            table["model"] = table["model"].where(table["model"].notna(), self.endpoint.model)
        table["target"] = self.target if self.endpoint is None else self.endpoint.to_dict()["base_url"]
        table["repetitions"] = self.repetitions
        return table

    def to_dict(self) -> dict[str, Any]:
        """The spec as plain values (the endpoint without its key), as a run records it."""
        return {**{k: getattr(self, k) for k in _SPEC_FIELDS}, "variants": [v.to_dict() for v in self.variants],
                "endpoint": None if self.endpoint is None else self.endpoint.to_dict()}


_SPEC_FIELDS = ("name", "test_set", "n", "variants", "repetitions", "endpoint", "target", "concurrency",
                "timeout_s", "retries", "seed", "cache_dir", "out", "max_calls")


def load_spec(source: str | os.PathLike | Mapping[str, Any]) -> ExperimentSpec:
    """Read and check an experiment spec (a YAML file, or the same as a mapping).

    Fields: ``test_set`` (path; required), ``n`` (draw this many examples), ``variants`` (a list
    of mappings with ``name``, ``prompt_template``, ``system``, ``model``, ``temperature``,
    ``max_tokens``, ``params``; required), ``repetitions`` (1-100, default 3), ``endpoint``
    (``base_url``, ``model``, ``api_key_env``, ``prices``) or ``target`` (``module:function``),
    ``concurrency`` (1-64), ``timeout_s``, ``retries`` (0-10), ``seed``, ``cache_dir``, ``out``,
    ``max_calls``, ``name``. Relative paths are relative to the spec file, and a ``target``
    module is also looked for in the spec file's folder.

    Raises
    ------
    ExperimentSpecError
        Naming the file and the field: a missing or unknown field, a value out of range, an
        ``api_key`` written into the spec.

    Examples
    --------
    >>> spec = load_spec({"test_set": "tests.csv", "repetitions": 2,
    ...                   "endpoint": {"base_url": "http://127.0.0.1:8000/v1", "model": "m"},
    ...                   "variants": [{"name": "a"}, {"name": "b", "temperature": 0.7}]})
    >>> [v.name for v in spec.variants], spec.repetitions
    (['a', 'b'], 2)
    >>> load_spec({"test_set": "t.csv", "variants": [{"name": "a"}], "repetitions": 0, "target": "m:f"})
    Traceback (most recent call last):
    ...
    toolkit.experiments.spec.ExperimentSpecError: spec: repetitions must be an integer in [1, 100], got 0
    """
    base: Path | None = None
    where = "spec"
    if isinstance(source, Mapping):
        data = dict(source)
    else:
        path = Path(source).expanduser()
        where = str(path)
        if not path.is_file():
            raise ExperimentSpecError(f"{path}: no such spec file")
        if path.stat().st_size > LIMITS["spec_bytes"]:
            raise ExperimentSpecError(f"{path}: the spec is larger than {LIMITS['spec_bytes']:,} bytes")
        import yaml

        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
        except UnicodeDecodeError:
            raise ExperimentSpecError(f"{path}: the spec is not UTF-8 text") from None
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            at = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
            raise ExperimentSpecError(f"{path}: not valid YAML{at}: {getattr(exc, 'problem', None) or exc}") from None
        if not isinstance(data, Mapping):
            raise ExperimentSpecError(f"{path}: the spec must be a YAML mapping (test_set:, variants:, ...), got "
                                      f"{type(data).__name__}")
        if _too_many_values(data, LIMITS["spec_values"]):
            raise ExperimentSpecError(f"{path}: the spec expands to more than {LIMITS['spec_values']:,} values "
                                      "(YAML aliases repeating a large node?)")
        base = path.parent
    try:
        return _spec_from_mapping(data, base)
    except ExperimentSpecError as exc:
        raise ExperimentSpecError(f"{where}: {exc}") from None


def _too_many_values(data: Any, limit: int) -> bool:
    """Whether ``data`` has more than ``limit`` values, counting a node shared by YAML aliases each
    time it is reached (so an alias bomb is caught before anything walks or serialises it)."""
    stack, seen = [data], 0
    while stack:
        node = stack.pop()
        seen += 1
        if seen > limit:
            return True
        if isinstance(node, Mapping):
            stack.extend(node.keys())
            stack.extend(node.values())
        elif isinstance(node, (list, tuple)):
            stack.extend(node)
    return False


def _spec_from_mapping(data: Mapping[str, Any], base: Path | None) -> ExperimentSpec:
    for k in data:
        if _looks_like_secret(k):
            raise ExperimentSpecError(f"{k}: keys never go in a spec; name an environment variable in "
                                      "endpoint.api_key_env")
    unknown = [k for k in data if k not in _SPEC_FIELDS]
    if unknown:
        raise ExperimentSpecError(f"{unknown[0]} is not a spec field (allowed: {', '.join(_SPEC_FIELDS)})")
    for req in ("test_set", "variants"):
        if data.get(req) in (None, "", []):
            raise ExperimentSpecError(f"{req} is missing")

    def path_field(name: str) -> str | None:
        value = data.get(name)
        if value is None:
            return None
        if not isinstance(value, (str, os.PathLike)) or not str(value).strip():
            raise ExperimentSpecError(f"{name} must be a path, got {value!r}")
        p = Path(value).expanduser()
        return str(p if p.is_absolute() or base is None else base / p)

    variants = data["variants"]
    if not isinstance(variants, list):
        raise ExperimentSpecError(f"variants must be a list of mappings, got {type(variants).__name__}")
    if len(variants) > LIMITS["variants"]:
        raise ExperimentSpecError(f"variants has {len(variants)} entries; the limit is {LIMITS['variants']}")
    parsed = tuple(Variant.from_dict(v, where=f"variants[{i}]") for i, v in enumerate(variants))
    names = [v.name for v in parsed]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise ExperimentSpecError(f"variants: the name {dup[0]!r} is used twice (names must be unique)")
    endpoint = data.get("endpoint")
    target = data.get("target")
    if (endpoint is None) == (target is None):
        raise ExperimentSpecError("give exactly one of endpoint (an OpenAI-compatible server) and target "
                                  "(a Python function module:function)")
    if target is not None and (not isinstance(target, str) or not re.match(
            r"^[A-Za-z_][\w.]*:[A-Za-z_][\w.]*$", target)):
        raise ExperimentSpecError(f"target must be 'package.module:function', got {target!r}")
    name = data.get("name", "experiment")
    if not isinstance(name, str) or not _NAME_RE.match(name):
        raise ExperimentSpecError(f"name must be 1-64 letters, digits, '_', '.' or '-', got {name!r}")
    n = data.get("n")
    return ExperimentSpec(
        test_set=path_field("test_set"),
        variants=parsed,
        repetitions=_number(data.get("repetitions", 3), "repetitions", 1, LIMITS["repetitions"], integer=True),
        endpoint=None if endpoint is None else Endpoint.from_dict(endpoint),
        target=target,
        n=None if n is None else _number(n, "n", 1, LIMITS["examples"], integer=True),
        name=name,
        concurrency=_number(data.get("concurrency", 4), "concurrency", 1, 64, integer=True),
        timeout_s=_number(data.get("timeout_s", 30.0), "timeout_s", 0.01, 3600),
        retries=_number(data.get("retries", 3), "retries", 0, 10, integer=True),
        seed=_number(data.get("seed", 0), "seed", 0, 2**32 - 1, integer=True),
        cache_dir=path_field("cache_dir"),
        out=path_field("out"),
        max_calls=_number(data.get("max_calls", 20_000), "max_calls", 1, LIMITS["calls"], integer=True),
        base_dir=str(base.resolve()) if base is not None else None,
    )
