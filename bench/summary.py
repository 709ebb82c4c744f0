"""Turning measured rows into ratios, added latencies and target checks (PERFORMANCE.md)."""

from __future__ import annotations

from typing import Any

from scenarios import PATHS, PROXIED, ROWS, SCENARIOS, Scenario

NOISY_CORES = 0.3  # CPU used by processes outside the measurement, on average, to flag a run
TRANSLATION_BUDGET = 2.0  # a translated request may cost at most this many passthrough ones


def ratio(a: dict[str, Any] | None, b: dict[str, Any] | None, key: str) -> dict[str, Any] | None:
    """a[key] / b[key] for two measured rows; `flagged` when either run had errors."""
    if not a or not b or a.get("status") != "ok" or b.get("status") != "ok":
        return None
    if not a.get(key) or not b.get(key):
        return None
    return {
        "value": a[key] / b[key],
        "flagged": bool(a["flagged"] or b["flagged"]),
        "noisy": bool(a.get("noisy") or b.get("noisy")),
    }


def difference(
    rows: dict[str, Any], name: str, base: str = "D", keys: tuple[str, str] = ("p50_ms", "p99_ms")
) -> dict[str, Any] | None:
    """rows[name] − rows[base] for a p50/p99 pair (e.g. G − D), or None if either is missing."""
    a, b = rows.get(name), rows.get(base)
    if not a or not b or a.get("status") != "ok" or b.get("status") != "ok":
        return None
    if any(a.get(k) is None or b.get(k) is None for k in keys):
        return None
    flagged = bool(a.get("flagged") or b.get("flagged") or a.get("errors") or b.get("errors"))
    return {
        "p50_ms": a[keys[0]] - b[keys[0]],
        "p99_ms": a[keys[1]] - b[keys[1]],
        "flagged": flagged,
        "noisy": bool(a.get("noisy") or b.get("noisy")),
    }


def summarize_throughput(results: dict[str, Any]) -> None:
    scenarios = results["scenarios"]
    formats = results.get("formats")
    for scenario in SCENARIOS:
        entry = scenarios[scenario.key]
        rows = entry["targets"]
        probe = formats.get(scenario.fmt) if formats else None
        if scenario.fmt != "openai" and not (probe and probe["supported"]):
            endpoint = PATHS[scenario.fmt].format(model="{model}", method="generateContent")
            unprobed = f"n/a (G was not measured, so {endpoint} was not probed)"
            entry.update(status="n/a", reason=probe["detail"] if probe else unprobed)
            continue
        for name, status in results["targets"].items():
            if status.get("status") != "ok" and scenario.target_measures(name):
                rows[name] = {"status": status["status"], "reason": status["reason"]}
        entry["ratios"] = {
            "G/P rps": ratio(rows.get("G"), rows.get("P"), "rps"),
            "G/P cpu": ratio(rows.get("G"), rows.get("P"), "cpu_ms_per_req"),
            "G/L rps": ratio(rows.get("G"), rows.get("L"), "rps"),
            "G/L cpu": ratio(rows.get("G"), rows.get("L"), "cpu_ms_per_req"),
        }
        entry["routes"] = {
            route: {
                "vs P rps": ratio(rows.get(ROWS[route]), rows.get("P"), "rps"),
                "vs P cpu": ratio(rows.get(ROWS[route]), rows.get("P"), "cpu_ms_per_req"),
            }
            for route in scenario.routes
        }
        entry["translated"] = translated_ratios(scenario, rows)
        if scenario.chat_reference:
            entry["vs_chat"] = chat_ratios(scenario, rows, scenarios[scenario.chat_reference])
        if scenario.proxied:
            entry["proxied"] = proxied_ratios(rows, entry.get("proxy_cost"))
    latency: dict[str, Any] = {}
    for kind in ("non-stream", "stream"):
        rows = scenarios[f"openai {kind} c=1"]["targets"]
        latency[kind] = {n: found for n in ("P", "G", "L") if (found := difference(rows, n))}
    results["added_latency_c1"] = latency
    ttfb_rows = {
        n: {**v, "status": "ok", "flagged": bool(v["errors"])} for n, v in results["ttfb"].items()
    }
    keys = ("ttfb_p50_ms", "ttfb_p99_ms")
    results["added_ttfb"] = {
        n: found for n in ("P", "G", "L") if (found := difference(ttfb_rows, n, keys=keys))
    }
    results["checks"] = throughput_checks(results)


def translated_ratios(scenario: Scenario, rows: dict[str, Any]) -> dict[str, Any]:
    """Per translated route: its CPU per request and req/s over G's passthrough route for the
    same client request, in the same run (the budget: CPU at most TRANSLATION_BUDGET×)."""
    if scenario.passthrough is None:
        return {}
    base = rows.get(ROWS[scenario.passthrough])
    found = {}
    for route in scenario.translated:
        cpu = ratio(rows.get(ROWS[route]), base, "cpu_ms_per_req")
        rps = ratio(rows.get(ROWS[route]), base, "rps")
        if cpu is None and rps is None:
            continue
        over = cpu is not None and cpu["value"] > TRANSLATION_BUDGET
        found[route] = {"passthrough": scenario.passthrough, "cpu": cpu, "rps": rps, "over": over}
    return found


def chat_ratios(
    scenario: Scenario, rows: dict[str, Any], reference: dict[str, Any]
) -> dict[str, Any]:
    """Per route of a Responses or Gemini scenario: its CPU per request and req/s over G's
    OpenAI Chat passthrough (G→openai) of the same shape, in the same run: what such a client
    costs the gateway against a Chat client (no budget: a second reference)."""
    base = reference["targets"].get("G")
    routes = {}
    for route in scenario.routes:
        cpu = ratio(rows.get(ROWS[route]), base, "cpu_ms_per_req")
        rps = ratio(rows.get(ROWS[route]), base, "rps")
        if cpu is not None or rps is not None:
            routes[route] = {"cpu": cpu, "rps": rps}
    return {"reference": scenario.chat_reference, "routes": routes}


def proxied_ratios(rows: dict[str, Any], cost: dict[str, Any] | None) -> dict[str, Any]:
    """G through the proxy against G direct, in the same run, and the proxy's own cost (a
    plain client through it against the same client direct): G should keep at least the share
    of req/s the plain client keeps."""
    proxied = rows.get(ROWS[PROXIED])
    gateway = {
        "rps": ratio(proxied, rows.get("G"), "rps"),
        "cpu": ratio(proxied, rows.get("G"), "cpu_ms_per_req"),
        "added": difference(rows, ROWS[PROXIED], base="G"),
        "proxy_cpu_ms_per_req": proxied.get("proxy_cpu_ms_per_req") if proxied else None,
    }
    alone = None
    if cost:
        alone = {
            "rps": ratio(cost.get("proxied"), cost.get("direct"), "rps"),
            "added": difference(cost, "proxied", base="direct"),
            "proxy_cpu_ms_per_req": cost["proxied"].get("proxy_cpu_ms_per_req"),
        }
    within = None
    if gateway["rps"] and alone and alone["rps"]:
        within = gateway["rps"]["value"] >= alone["rps"]["value"]
    return {"gateway": gateway, "proxy_alone": alone, "within_proxy_cost": within}


def check(
    what: str,
    value: float | None,
    limit: float,
    *,
    at_least: bool,
    unit: str,
    flagged: bool = False,
    noisy: bool = False,
) -> dict[str, Any]:
    """`met` is None when there is no value or the run had errors; `noisy` is shown."""
    if value is None:
        return {"what": what, "value": "-", "met": None}
    met = value >= limit if at_least else value <= limit
    shown = f"{value:.2f}{unit}" + (" !" if flagged else "") + (" ~" if noisy else "")
    return {"what": what, "value": shown, "met": None if flagged else met, "noisy": noisy}


def throughput_checks(results: dict[str, Any]) -> list[dict[str, Any]]:
    scenarios = results["scenarios"]
    c32 = scenarios["openai non-stream c=32"].get("ratios", {})
    checks = []
    for key, label, limit in (("G/P rps", "≥ 0.6× P", 0.6), ("G/L rps", "≥ 20× L", 20.0)):
        found = c32.get(key)
        if found or key == "G/P rps":
            checks.append(
                check(
                    f"req/s at c=32, non-streaming: G {label}",
                    found["value"] if found else None,
                    limit,
                    at_least=True,
                    unit="×",
                    flagged=bool(found and found["flagged"]),
                    noisy=bool(found and found["noisy"]),
                )
            )
    added = results["added_latency_c1"]["non-stream"].get("G")
    for pct, limit in (("p50", 1.0), ("p99", 3.0)):
        checks.append(
            check(
                f"added latency at c=1, {pct}: G−D ≤ {limit:g} ms",
                added[f"{pct}_ms"] if added else None,
                limit,
                at_least=False,
                unit=" ms",
                flagged=bool(added and added["flagged"]),
                noisy=bool(added and added["noisy"]),
            )
        )
    ttfb = results["added_ttfb"].get("G")
    checks.append(
        check(
            "added streaming TTFB, p50: G−D ≤ 1 ms",
            ttfb["p50_ms"] if ttfb else None,
            1.0,
            at_least=False,
            unit=" ms",
            flagged=bool(ttfb and ttfb["flagged"]),
            noisy=bool(ttfb and ttfb["noisy"]),
        )
    )
    for scenario in SCENARIOS:
        proxied = scenarios[scenario.key].get("proxied")
        if proxied and proxied["gateway"]["rps"] and proxied["proxy_alone"]:
            own = proxied["proxy_alone"]["rps"]
            mine = proxied["gateway"]["rps"]
            kind = "stream" if scenario.stream else "non-stream"
            if own is not None:
                checks.append(
                    check(
                        f"req/s {kind} c={scenario.connections}, G through a proxy/direct: "
                        f"≥ the proxy's own {own['value']:.2f}× (plain client)",
                        mine["value"],
                        own["value"],
                        at_least=True,
                        unit="×",
                        flagged=bool(mine["flagged"] or own["flagged"]),
                        noisy=bool(mine["noisy"] or own["noisy"]),
                    )
                )
        for route, found in scenarios[scenario.key].get("translated", {}).items():
            cpu = found["cpu"]
            body = "" if scenario.body == "small" else f" {scenario.body}"
            kind = "stream" if scenario.stream else "non-stream"
            checks.append(
                check(
                    f"CPU/req {scenario.fmt}→{route}{body} {kind} c={scenario.connections}: "
                    f"≤ {TRANSLATION_BUDGET:g}× {scenario.fmt}→{found['passthrough']}",
                    cpu["value"] if cpu else None,
                    TRANSLATION_BUDGET,
                    at_least=False,
                    unit="×",
                    flagged=bool(cpu and cpu["flagged"]),
                    noisy=bool(cpu and cpu["noisy"]),
                )
            )
    return checks
