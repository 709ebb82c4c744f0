"""Printing the results: one table per scenario, ratios, added latency and TTFB, targets."""

from __future__ import annotations

from typing import Any

from backend import describe
from scenarios import PROXIED, ROWS, SCENARIOS, Scenario, row_label
from summary import NOISY_CORES, TRANSLATION_BUDGET

TARGET_ORDER = ("D", "P", "G", "L")
COLUMNS = ("target", "req/s", "p50 ms", "p99 ms", "errors", "CPU ms/req", "RSS MiB")
WIDTHS = (16, 11, 9, 9, 24, 11, 8)


def _num(value: float | None, digits: int = 2) -> str:
    return "-" if value is None else f"{value:,.{digits}f}"


def _line(cells: tuple[str, ...] | list[str]) -> str:
    out = []
    for index, (cell, width) in enumerate(zip(cells, WIDTHS, strict=True)):
        out.append(cell.ljust(width) if index in (0, 4) else cell.rjust(width))
    return "  ".join(out).rstrip()


def row_cells(name: str, row: dict[str, Any]) -> list[str]:
    if row.get("status") != "ok":
        return [name, row.get("reason", "n/a")]
    flag = ("!" if row["flagged"] else "") + ("~" if row.get("noisy") else "")
    errors = f"! {row['error_text']}" if row["flagged"] else "0"
    return [
        name,
        _num(row["rps"], 1) + flag,
        _num(row["p50_ms"], 3),
        _num(row["p99_ms"], 3),
        errors,
        _num(row["cpu_ms_per_req"], 3),
        _num(row["rss_mib"], 1),
    ]


def _ratio_text(label: str, found: dict[str, Any] | None) -> str | None:
    if found is None:
        return None
    marks = (" (!errors)" if found["flagged"] else "") + (" (~noisy)" if found.get("noisy") else "")
    return f"{label} {found['value']:.2f}×{marks}"


def scenario_block(title: str, spec: Scenario, scenario: dict[str, Any]) -> str:
    lines = [title, _line(COLUMNS)]
    rows = scenario["targets"]
    if scenario.get("status") == "n/a":
        return f"{title}\n  {scenario['reason']}"
    width = WIDTHS[0]
    for name in spec.rows():
        if name not in rows:
            continue
        cells = row_cells(row_label(name), rows[name])
        lines.append(
            _line(cells) if len(cells) == len(COLUMNS) else f"{cells[0]:<{width}}  {cells[1]}"
        )
    if "D" not in spec.references:
        lines.append("(D and L run the small bodies only)")
    elif "P" not in spec.references:
        lines.append("(P and L speak only OpenAI Chat Completions and Anthropic Messages)")
    noisy = [n for n, r in rows.items() if r.get("noisy")]
    if noisy:
        worst = max(rows[n]["other_cpu_cores"] for n in noisy)
        lines.append(
            f"~ {', '.join(row_label(n) for n in noisy)}: other processes used up to "
            f"{worst:.2f} cores during the run; these numbers are disturbed"
        )
    for route in spec.routes:
        calls = rows.get(ROWS[route], {}).get("backend_per_req")
        if calls:
            lines.append(
                f"{row_label(ROWS[route])} per request: {describe(calls)} (server-wide counters)"
            )
    ratios = scenario.get("ratios", {})
    routes = scenario.get("routes", {})
    texts = []
    for route in spec.routes:
        found = routes.get(route, {})
        label = row_label(ROWS[route])
        texts += [
            _ratio_text(f"{label}/P req/s", found.get("vs P rps")),
            _ratio_text(f"{label}/P CPU per req", found.get("vs P cpu")),
        ]
    texts += [
        _ratio_text("G→openai/L req/s", ratios.get("G/L rps")),
        _ratio_text("G→openai/L CPU per req", ratios.get("G/L cpu")),
    ]
    shown = [t for t in texts if t]
    if shown:
        lines.append("ratios: " + ", ".join(shown))
    for route, found in scenario.get("translated", {}).items():
        base = found["passthrough"]
        parts = [
            text
            for text in (
                _ratio_text("CPU per req", found["cpu"]),
                _ratio_text("req/s", found["rps"]),
            )
            if text
        ]
        verdict = (
            f"OVER the {TRANSLATION_BUDGET:g}× budget"
            if found["over"]
            else f"within the {TRANSLATION_BUDGET:g}× budget"
            if found["cpu"]
            else "no CPU figure"
        )
        lines.append(
            f"translated/passthrough ({spec.fmt}→{route} over {spec.fmt}→{base}): "
            + ", ".join(parts)
            + f" — {verdict}"
        )
    lines += chat_lines(scenario.get("vs_chat"))
    lines += proxied_lines(spec, scenario)
    return "\n".join(lines)


def chat_lines(found: dict[str, Any] | None) -> list[str]:
    """A Responses or Gemini scenario's routes against G's OpenAI Chat passthrough."""
    if found is None:
        return []
    head = f"against a Chat client (G→openai of `{found['reference']}`)"
    if not found["routes"]:
        return [f"{head}: n/a (not measured)"]
    parts = []
    for route, ratios in found["routes"].items():
        texts = [
            text
            for text in (
                _ratio_text("CPU per req", ratios["cpu"]),
                _ratio_text("req/s", ratios["rps"]),
            )
            if text
        ]
        parts.append(f"{row_label(ROWS[route])} " + ", ".join(texts))
    return [f"{head}: " + "; ".join(parts)]


def _cost_line(label: str, row: dict[str, Any]) -> str:
    flag = ("!" if row["flagged"] else "") + ("~" if row.get("noisy") else "")
    errors = f"! {row['error_text']}" if row["flagged"] else "0"
    return (
        f"  {label:<14} {_num(row['rps'], 1) + flag:>11} req/s  p50 {_num(row['p50_ms'], 3)} ms"
        f"  p99 {_num(row['p99_ms'], 3)} ms  errors {errors}"
        f"  client CPU {_num(row['client_cpu_ms_per_req'], 3)} ms/req"
        f"  proxy CPU {_num(row['proxy_cpu_ms_per_req'], 3)} ms/req"
    )


def proxied_lines(spec: Scenario, scenario: dict[str, Any]) -> list[str]:
    """G through the proxy against G direct, next to what the proxy costs a plain client."""
    found = scenario.get("proxied")
    if not found:
        return []
    lines = []
    cost = scenario.get("proxy_cost")
    if cost:
        lines.append(
            f"the proxy alone (a plain aiohttp client, c={spec.connections}, the same upstream "
            "and proxy):"
        )
        lines.append(_cost_line("direct", cost["direct"]))
        lines.append(_cost_line("through proxy", cost["proxied"]))
    gateway, alone = found["gateway"], found["proxy_alone"]
    parts = [
        text
        for text in (
            _ratio_text("req/s", gateway["rps"]),
            _ratio_text("G CPU per req", gateway["cpu"]),
        )
        if text
    ]
    added = gateway["added"]
    if added:
        parts.append(f"p50 {_ms(added['p50_ms'])}, p99 {_ms(added['p99_ms'])}")
    if gateway["proxy_cpu_ms_per_req"] is not None:
        parts.append(f"proxy CPU {gateway['proxy_cpu_ms_per_req']:.3f} ms/req")
    if not parts:
        return lines
    text = "proxy hop: G→openai-proxied over G→openai: " + ", ".join(parts)
    if alone and alone["rps"]:
        own = _ratio_text("keeps", alone["rps"])
        extra = alone["added"]
        if extra:
            own = f"{own} (p50 {_ms(extra['p50_ms'])}, p99 {_ms(extra['p99_ms'])})"
        verdict = (
            "G loses no more than the proxy's own cost"
            if found["within_proxy_cost"]
            else "G loses MORE than the proxy's own cost"
        )
        text += f"; the proxy alone {own} — {verdict}"
    lines.append(text)
    return lines


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:+.3f} ms"


def added_latency_lines(added: dict[str, Any]) -> list[str]:
    lines = []
    for label, key in (("non-streaming", "non-stream"), ("streaming", "stream")):
        parts = []
        for name in ("P", "G", "L"):
            found = added.get(key, {}).get(name)
            if found:
                flag = " (!errors)" if found["flagged"] else ""
                flag += " (~noisy)" if found.get("noisy") else ""
                parts.append(
                    f"{name}−D p50 {_ms(found['p50_ms'])}, p99 {_ms(found['p99_ms'])}{flag}"
                )
        if parts:
            lines.append(f"added latency at c=1, {label}: " + "; ".join(parts))
    return lines


def ttfb_lines(ttfb: dict[str, Any], added: dict[str, Any]) -> list[str]:
    if not ttfb:
        return []
    parts = []
    for name in TARGET_ORDER:
        found = ttfb.get(name)
        if found:
            errors = f", {found['errors']} errors!" if found["errors"] else ""
            errors += " ~noisy" if found.get("noisy") else ""
            parts.append(
                f"{name} p50 {_num(found['ttfb_p50_ms'], 3)} / p99 {_num(found['ttfb_p99_ms'], 3)}"
                f"{errors}"
            )
    n = next(iter(ttfb.values()))["n"]
    lines = [f"streaming TTFB ms ({n} sequential requests, first body byte): " + "; ".join(parts)]
    extra = [
        f"{name}−D p50 {_ms(found['p50_ms'])}, p99 {_ms(found['p99_ms'])}"
        + (" (!errors)" if found["flagged"] else "")
        + (" (~noisy)" if found.get("noisy") else "")
        for name, found in added.items()
    ]
    if extra:
        lines.append("added TTFB: " + "; ".join(extra))
    return lines


def target_lines(checks: list[dict[str, Any]]) -> list[str]:
    if not checks:
        return []
    lines = ["targets (PERFORMANCE.md):"]
    width = max(60, *(len(check["what"]) for check in checks))
    for check in checks:
        verdict = "n/a" if check["met"] is None else ("met" if check["met"] else "MISSED")
        if check.get("noisy"):
            verdict += " (noisy run)"
        lines.append(f"  {check['what']:<{width}} {check['value']:>12}  {verdict}")
    return lines


def print_throughput(duration_s: int, results: dict[str, Any]) -> None:
    print()
    args = results["args"]
    measured = (args.get("scenarios") or list(results["scenarios"])) + args.get("references", [])
    for scenario in SCENARIOS:
        if scenario.key not in measured:
            continue
        entry = results["scenarios"][scenario.key]
        print(scenario_block(scenario.title(duration_s), scenario, entry))
        if scenario.key in args.get("references", []):
            print(
                "(measured as the Chat reference of the Responses and Gemini rows: G→openai only)"
            )
        print()
    for line in added_latency_lines(results["added_latency_c1"]):
        print(line)
    for line in ttfb_lines(results["ttfb"], results["added_ttfb"]):
        print(line)
    logs = results["targets"].get("G", {}).get("request_logs")
    if logs:
        print(
            f"G request_logs rows written: {logs['rows_written']} "
            f"(measured requests: {logs['measured']}, plus warm-ups and TTFB)"
        )
    bypassed = results["targets"].get("G", {}).get("proxied_served_directly")
    if bypassed:
        print(
            f"WARNING: {bypassed} openai-proxied requests were served directly, not through the "
            "proxy (it was down and proxy.direct_egress is fallback): those rows are not a "
            "proxy's figures"
        )
    elif bypassed == 0 and any(
        s["targets"].get(ROWS[PROXIED], {}).get("status") == "ok"
        for s in results["scenarios"].values()
    ):
        print("G openai-proxied: every request served went through the proxy (request_logs)")
    print()
    for line in target_lines(results["checks"]):
        print(line)


def print_memory(results: dict[str, Any]) -> None:
    memory = results["memory"]
    first, last = memory["first"], memory["last"]
    flag = f"  ({memory['errors']} requests failed!)" if memory["errors"] else ""
    print(
        f"\nmemory (G): RSS {first['rss_mib']:.1f} MiB after {first['requests']:,} requests, "
        f"{last['rss_mib']:.1f} MiB after {last['requests']:,}: "
        f"growth {memory['growth_pct']:+.1f}%"
        + (
            f", {memory['growth_mib_per_10k_after_first']:+.2f} MiB per 10,000"
            if memory["growth_mib_per_10k_after_first"] is not None
            else ""
        )
        + flag
    )


def print_soak(results: dict[str, Any]) -> None:
    soak = results["soak"]
    any_run = next(iter(soak.values()))
    print(
        f"\nsoak: {any_run['streams']:,} concurrent streams x {any_run['chunks_per_stream']} "
        f"chunks at {any_run['chunk_delay_ms']:g} ms (ideal {any_run['ideal_stream_s']:.2f} s "
        "per stream)"
    )
    header = (
        "target      ok  failed  lost  reordered  wall s  1st byte max s  stream p50 s  "
        "max s  CPU s  RSS MiB"
    )
    print(header)
    for name, run in soak.items():
        print(
            f"{name:<6} {run['ok']:>7} {run['failed']:>7} {run['chunks_lost']:>5} "
            f"{run['chunks_reordered']:>10} {run['wall_s']:>7.2f} {run['first_byte_max_s']:>15.3f} "
            f"{run['stream_s_p50'] or 0:>13.3f} {run['stream_s_max'] or 0:>6.2f} "
            f"{run['cpu_s']:>6.2f} {run['rss_mib_after']:>8.1f}"
        )
        for problem, count in run["problems"].items():
            print(f"       {count} x {problem}")
        if run["other_cpu_cores"] > NOISY_CORES:
            print(f"       ~ other processes used {run['other_cpu_cores']:.2f} cores meanwhile")


def print_profile(results: dict[str, Any]) -> None:
    found = results["profile"]
    print(
        f"\nprofile: G, {found['scenario']}, {found['samples']} samples of the serving thread "
        f"({found['rps_while_sampled']:,.0f} req/s while sampled; raw stacks: {found['raw']})"
    )
    for title, key in (("cumulative (on the stack)", "cumulative"), ("self (on top)", "self")):
        print(f"top {len(found[key])} by {title}:")
        for frame, share in found[key]:
            print(f"  {share:5.1f}%  {frame}")
